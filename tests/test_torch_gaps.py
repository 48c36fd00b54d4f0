"""The README's list of what a PyTorch user still misses stays true: every name below that PyTorch tutorials
reach for is either in minigrad (at the same place) or named in the README's "Still missing" list, and
every name in that list is really missing (a name added to minigrad must leave the list)."""
import os
import re

import pytest

import minigrad
from minigrad import nn, optim
from minigrad.nn import functional as F
from minigrad.optim import lr_scheduler
from minigrad.utils import data

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")

# namespace as the README names it: (minigrad's object, torch's path, the names)
COMMON = {
    "torch": (minigrad, "", """
        tensor zeros ones full eye arange linspace rand randn randint randperm zeros_like ones_like randn_like
        from_numpy as_tensor cat stack chunk split where clamp reshape flatten squeeze unsqueeze transpose
        permute matmul bmm einsum sum mean std var max min argmax amax amin maximum minimum logsumexp exp log
        sqrt abs sign sigmoid tanh softmax log_softmax topk sort argsort gather scatter index_select cumsum
        cumprod flip roll nonzero isinf isnan isfinite allclose isclose floor_divide remainder no_grad
        enable_grad inference_mode manual_seed save load
        meshgrid tril triu unbind unique bincount cdist outer diag multinomial bernoulli normal prod
        masked_select searchsorted bucketize diff repeat_interleave tile narrow movedim clone is_tensor median
        kthvalue logical_and logical_not round floor ceil trunc fmod erf atan2 mm mv dot tensordot nan_to_num
        hstack vstack finfo iinfo set_printoptions linalg fft distributions autocast compile jit
        sparse_coo_tensor"""),
    "Tensor": (minigrad.zeros(2, 2), "zeros(2, 2).", """
        size shape dim numel item tolist numpy detach clone contiguous view view_as reshape expand expand_as
        repeat permute transpose squeeze unsqueeze flatten chunk split to cpu cuda float double long int bool
        type_as requires_grad_ retain_grad backward register_hook zero_ fill_ copy_ normal_ uniform_ add_ mul_
        masked_fill clamp clamp_ argmax max min mean sum std var norm abs pow sqrt exp log sigmoid relu
        softmax log_softmax matmul eq ne lt gt le ge all any new_zeros new_ones new_full new_tensor new_empty
        topk sort argsort gather scatter scatter_add index_select cumsum cumprod flip roll nonzero isnan isinf
        isfinite allclose isclose floor_divide remainder bmm
        masked_fill_ is_contiguous unbind unfold index_add index_fill index_copy masked_select prod mm dot
        outer nelement pin_memory is_pinned lerp addcmul bernoulli_ random_ scatter_reduce take_along_dim
        diagonal trace triu tril diag unique bincount nan_to_num round floor ceil trunc fmod logical_not
        logical_and reciprocal erf atan2 median mode kthvalue count_nonzero narrow movedim tile
        repeat_interleave rot90 stride is_floating_point scatter_ scatter_add_ index_put_ clamp_min clamp_max
        log1p expm1 retains_grad nbytes itemsize"""),
    "nn": (nn, "nn.", """
        Module Parameter Sequential ModuleList ModuleDict Identity Linear Conv2d ConvTranspose2d BatchNorm1d
        BatchNorm2d LayerNorm GroupNorm Dropout Embedding ReLU GELU SiLU Softmax MaxPool2d AvgPool2d
        AdaptiveAvgPool2d Flatten Upsample CrossEntropyLoss MSELoss BCEWithLogitsLoss SyncBatchNorm
        RNN LSTM GRU LSTMCell GRUCell MultiheadAttention Transformer TransformerEncoder TransformerEncoderLayer
        EmbeddingBag Conv1d Conv3d ConvTranspose1d BatchNorm3d MaxPool1d AvgPool1d AdaptiveAvgPool1d PReLU
        PixelShuffle Unfold Fold CosineSimilarity PairwiseDistance Bilinear TripletMarginLoss
        MarginRankingLoss CTCLoss DataParallel"""),
    "nn.functional": (F, "nn.functional.", """
        relu gelu silu softmax log_softmax cross_entropy nll_loss mse_loss binary_cross_entropy_with_logits
        conv2d max_pool2d avg_pool2d adaptive_avg_pool2d linear dropout pad one_hot interpolate embedding
        layer_norm batch_norm
        normalize conv1d conv3d grid_sample affine_grid pixel_shuffle scaled_dot_product_attention
        cosine_similarity pairwise_distance gumbel_softmax selu celu glu triplet_margin_loss ctc_loss
        max_pool1d avg_pool1d"""),
    "nn.utils": (nn.utils, "nn.utils.", """
        clip_grad_norm_ clip_grad_value_ parameters_to_vector vector_to_parameters weight_norm spectral_norm
        rnn"""),
    "optim": (optim, "optim.", "SGD Adam AdamW RMSprop Adagrad Adadelta Adamax NAdam RAdam LBFGS Rprop"),
    "optim.lr_scheduler": (lr_scheduler, "optim.lr_scheduler.", """
        StepLR MultiStepLR ExponentialLR CosineAnnealingLR OneCycleLR ReduceLROnPlateau LambdaLR
        MultiplicativeLR LinearLR SequentialLR CosineAnnealingWarmRestarts ConstantLR CyclicLR PolynomialLR"""),
    "utils.data": (data, "utils.data.", """
        Dataset TensorDataset DataLoader Subset ConcatDataset random_split RandomSampler SequentialSampler
        WeightedRandomSampler BatchSampler SubsetRandomSampler DistributedSampler default_collate get_worker_info
        IterableDataset ChainDataset StackDataset"""),
}


def readme_missing():
    """{namespace: set of names} from the README's 'Still missing' sub-bullets ``  - `ns`: `a`, `b`, ...``."""
    text = open(README, encoding="utf-8").read()
    start = text.index("- Still missing, for a PyTorch user")
    block = text[start:text.index("\n\n", start)]
    out = {}
    for line in block.splitlines()[1:]:
        m = re.match(r"\s+- `([\w.]+)`: (.*)", line)
        if m:
            out[m.group(1)] = set(re.findall(r"`(\w+)`", m.group(2)))
        elif out and line.startswith("    "):      # a wrapped line continues the last namespace
            out[list(out)[-1]] |= set(re.findall(r"`(\w+)`", line))
    return out


@pytest.mark.parametrize("namespace", list(COMMON))
def test_readme_lists_exactly_the_missing_names(namespace):
    obj, _, names = COMMON[namespace]
    missing = {n for n in names.split() if not hasattr(obj, n)}
    listed = readme_missing().get(namespace, set())
    assert listed <= set(names.split()), f"listed but not in this test's COMMON: {sorted(listed - set(names.split()))}"
    assert not missing - listed, f"missing from minigrad.{namespace} but not in the README: {sorted(missing - listed)}"
    assert not listed - missing, f"in the README's list but minigrad.{namespace} has them: {sorted(listed - missing)}"


@pytest.mark.parametrize("namespace", list(COMMON))
def test_the_names_are_pytorch_names(namespace):
    torch = pytest.importorskip("torch")
    _, path, names = COMMON[namespace]
    for n in names.split():
        assert eval(f"torch.{path}{n}", {"torch": torch}) is not None, n     # raises AttributeError if absent
