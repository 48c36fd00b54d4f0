"""The zoo's blocks against the same blocks written in PyTorch (torchvision's code and state_dict names):
same weights in, same outputs and gradients out."""
import numpy as np
import pytest

import minigrad
from minigrad import models as M

torch = pytest.importorskip("torch")
tnn = torch.nn
from torchvision_layout import SqueezeExcitation as TSqueezeExcitation  # noqa: E402  (needs torch)


# ---- the PyTorch references, written the torchvision way -------------------------------------------------
class TBasicBlock(tnn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TBottleneck(tnn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


def t_conv_bn_act(cin, cout, k=3, stride=1, groups=1, act=tnn.ReLU6):
    layers = [tnn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), tnn.BatchNorm2d(cout)]
    return tnn.Sequential(*layers, act()) if act else tnn.Sequential(*layers)


class TInvertedResidual(tnn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [t_conv_bn_act(inp, hidden, 1)] if expand_ratio != 1 else []
        layers += [t_conv_bn_act(hidden, hidden, 3, stride, hidden), tnn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
                   tnn.BatchNorm2d(oup)]
        self.conv = tnn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class TBasicConv2d(tnn.Module):  # GoogLeNet as published: conv with bias, no BatchNorm
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, **kw)
        self.relu = tnn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


class TInception(tnn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = TBasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = tnn.Sequential(TBasicConv2d(cin, c3r, kernel_size=1),
                                      TBasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TBasicConv2d(cin, c5r, kernel_size=1),
                                      TBasicConv2d(c5r, c5, kernel_size=5, padding=2))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1), TBasicConv2d(cin, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TMBConv(tnn.Module):  # torchvision's MBConv in eval-free form (stochastic depth off)
    def __init__(self, expand, k, stride, cin, cout):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        hidden = cin * expand
        layers = [t_conv_bn_act(cin, hidden, 1, act=tnn.SiLU)] if hidden != cin else []
        layers += [t_conv_bn_act(hidden, hidden, k, stride, hidden, act=tnn.SiLU),
                   TSqueezeExcitation(hidden, max(1, cin // 4)), t_conv_bn_act(hidden, cout, 1, act=None)]
        self.block = tnn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res_connect else y


class TCifarBlock(tnn.Module):  # He et al. 2016, option A, as in the common PyTorch CIFAR code
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        pad = (planes - cin) // 2
        self.pad = lambda x: torch.nn.functional.pad(x[:, :, ::stride, ::stride], (0, 0, 0, 0, pad, pad))

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + self.pad(x))


# ---- the comparison ---------------------------------------------------------------------------------------
def _randomize_bn(tmodel, rng):
    for m in tmodel.modules():
        if isinstance(m, tnn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, m.num_features)))
                m.bias.copy_(torch.tensor(rng.uniform(-0.5, 0.5, m.num_features)))
                m.running_mean.copy_(torch.tensor(rng.uniform(-0.3, 0.3, m.num_features)))
                m.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, m.num_features)))


def _copy_weights(tmodel, mmodel):
    """torch -> minigrad by state_dict key; the key sets must be identical (num_batches_tracked aside)."""
    tstate = {k: v for k, v in tmodel.state_dict().items() if not k.endswith("num_batches_tracked")}
    mstate = {k: v for k, v in mmodel.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert sorted(mstate) == sorted(tstate)
    for k, v in tstate.items():
        assert tuple(mstate[k].shape) == tuple(v.shape), k
    mmodel.load_state_dict({k: minigrad.tensor(v.detach().numpy()) for k, v in tmodel.state_dict().items()
                            if k in mstate}, strict=False)


def check_parity(mmodel, tmodel, shape, train, seed=0, atol=2e-4):
    rng = np.random.default_rng(seed)
    _randomize_bn(tmodel, rng)
    _copy_weights(tmodel, mmodel)
    tmodel.train(train)
    mmodel.train(train)
    x = rng.standard_normal(shape).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    mx = minigrad.tensor(x, requires_grad=True)
    ty, my = tmodel(tx), mmodel(mx)
    assert tuple(my.shape) == tuple(ty.shape)
    np.testing.assert_allclose(my.detach().numpy(), ty.detach().numpy(), atol=atol, rtol=1e-4)
    v = rng.standard_normal(tuple(ty.shape)).astype(np.float32)   # a random upstream gradient
    (ty * torch.tensor(v)).sum().backward()
    (my * minigrad.tensor(v)).sum().backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), atol=atol, rtol=1e-3)
    tparams = dict(tmodel.named_parameters())
    for name, p in mmodel.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=10 * atol, rtol=1e-3,
                                   err_msg=name)
    if train:  # BatchNorm's running statistics move the same way
        tbuf = dict(tmodel.named_buffers())
        for name, b in mmodel.named_buffers():
            if not name.endswith("num_batches_tracked"):
                np.testing.assert_allclose(b.numpy(), tbuf[name].numpy(), atol=1e-5, rtol=1e-4, err_msg=name)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_basic_block_identity(train):
    torch.manual_seed(0)
    check_parity(M.BasicBlock(16, 16), TBasicBlock(16, 16), (2, 16, 8, 8), train)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_basic_block_projection(train):
    torch.manual_seed(1)
    mdown = minigrad.nn.Sequential(minigrad.nn.Conv2d(8, 16, 1, 2, bias=False), minigrad.nn.BatchNorm2d(16))
    tdown = tnn.Sequential(tnn.Conv2d(8, 16, 1, 2, bias=False), tnn.BatchNorm2d(16))
    check_parity(M.BasicBlock(8, 16, 2, mdown), TBasicBlock(8, 16, 2, tdown), (2, 8, 8, 8), train, seed=1)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_bottleneck_block(train):
    torch.manual_seed(2)
    mdown = minigrad.nn.Sequential(minigrad.nn.Conv2d(16, 32, 1, 2, bias=False), minigrad.nn.BatchNorm2d(32))
    tdown = tnn.Sequential(tnn.Conv2d(16, 32, 1, 2, bias=False), tnn.BatchNorm2d(32))
    check_parity(M.Bottleneck(16, 8, 2, mdown), TBottleneck(16, 8, 2, tdown), (2, 16, 7, 7), train, seed=2)


@pytest.mark.parametrize("stride, inp, oup", [(1, 8, 8), (2, 8, 12)], ids=["residual", "strided"])
def test_inverted_residual(stride, inp, oup):
    torch.manual_seed(3)
    check_parity(M.InvertedResidual(inp, oup, stride, 6), TInvertedResidual(inp, oup, stride, 6),
                 (2, inp, 7, 7), train=True, seed=3)


def test_inception_module():
    torch.manual_seed(4)
    cfg = (24, 8, 12, 16, 4, 8, 8)  # a scaled-down 3a: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj
    check_parity(M.Inception(*cfg), TInception(*cfg), (2, 24, 7, 7), train=True, seed=4)


def test_resnet18_state_dict_names_match_torchvision():
    keys = set(M.resnet18().state_dict())
    for k in ["conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
              "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_mean", "layer4.1.conv2.weight",
              "fc.weight", "fc.bias"]:
        assert k in keys, k
    mv2 = set(M.mobilenet_v2().state_dict())
    assert {"features.0.0.weight", "features.1.conv.0.0.weight", "features.2.conv.3.weight",
            "features.18.1.running_mean", "classifier.1.weight"} <= mv2
    eff = set(M.efficientnet_b0().state_dict())
    assert {"features.1.0.block.1.fc1.weight", "features.2.0.block.3.1.weight", "features.8.0.weight",
            "classifier.1.bias"} <= eff


@pytest.mark.parametrize("expand, stride, cin, cout", [(6, 1, 8, 8), (1, 2, 8, 16)], ids=["residual", "strided"])
def test_mbconv_with_squeeze_excitation(expand, stride, cin, cout):
    from minigrad.models.efficientnet import MBConvConfig
    torch.manual_seed(5)
    mblock = M.MBConv(MBConvConfig(expand, 3, stride, cin, cout, 1), stochastic_depth_prob=0.0)
    check_parity(mblock, TMBConv(expand, 3, stride, cin, cout), (2, cin, 6, 6), train=True, seed=5)


def test_cifar_block_option_a_shortcut():
    torch.manual_seed(6)
    check_parity(M.CifarBasicBlock(16, 32, 2), TCifarBlock(16, 32, 2), (2, 16, 8, 8), train=True, seed=6)
