"""Inference-time fusion: fold an eval-mode BatchNorm2d into the convolution that feeds it.

BatchNorm in eval mode is an affine map per channel, y = s * (z - mean) + beta with s = gamma / sqrt(var + eps);
when z = conv(x) = W * x + b it is again a convolution, with W' = s W (per output channel) and
b' = s (b - mean) + beta. The BatchNorm is then replaced by ``Identity``.

Which (conv, bn) pairs are fused:
  - in every ``Sequential``, a ``Conv2d`` immediately followed by a ``BatchNorm2d`` (ConvNormAct, ResNet
    downsample, VGG-BN, MobileNet and EfficientNet blocks);
  - in any module with a ``conv_bn_pairs`` attribute, the listed (conv attribute, bn attribute) names: the
    zoo's blocks whose forward applies bn directly to conv's output (ResNet blocks, GoogLeNet's BasicConv2d).
Nothing else is touched, so a model whose forward uses its layers in some other order stays correct.
"""
import copy

from ...autograd import no_grad
from ..containers import Sequential
from ..conv import Conv2d
from ..linear import Identity
from ..normalization import BatchNorm2d
from ..parameter import Parameter


def fuse_conv_bn_weights(conv_w, conv_b, mean, var, eps, gamma, beta):
    """The folded (weight, bias) Tensors for conv (``conv_w``, ``conv_b`` or None) followed by BatchNorm."""
    with no_grad():
        scale = (var + eps).rsqrt() if hasattr(var, "rsqrt") else 1.0 / (var + eps).sqrt()
        if gamma is not None:
            scale = scale * gamma
        w = conv_w * scale.reshape(-1, *([1] * (conv_w.ndim - 1)))
        b = (conv_b - mean) * scale if conv_b is not None else -mean * scale
        if beta is not None:
            b = b + beta
    return w.detach(), b.detach()


def _fuse_pair(parent, conv_name, bn_name):
    conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
    if not (isinstance(conv, Conv2d) and isinstance(bn, BatchNorm2d)):
        return False
    if bn.training:
        raise RuntimeError(f"fuse_conv_bn: {bn_name} is in training mode; call model.eval() first "
                           "(only the running statistics can be folded)")
    if bn.running_mean is None or conv.out_channels != bn.num_features:
        return False
    w, b = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps,
                                bn.weight, bn.bias)
    with no_grad():  # in place: the Parameter objects (and any optimizer's references) stay
        conv.weight.copy_(w)
        if conv.bias is not None:
            conv.bias.copy_(b)
    if conv.bias is None:
        conv.register_parameter("bias", Parameter(b.to(conv.weight.dtype),
                                                     requires_grad=conv.weight.requires_grad))
    # replace the BatchNorm in its slot (plain setattr may move a re-assigned child to the end of the order)
    if bn_name in getattr(parent, "_modules", {}):
        parent._modules[bn_name] = Identity()
    else:
        setattr(parent, bn_name, Identity())
    return True


def fuse_conv_bn(model, inplace=True):
    """Fold every eval-mode BatchNorm2d that directly follows a Conv2d into it; returns the model.

    Outputs equal the unfused model's up to float32 rounding. The model must be in eval mode. With
    ``inplace=False`` a deep copy is fused and the original is left as it was.
    """
    if not inplace:
        model = copy.deepcopy(model)
    for module in list(model.modules()):
        if isinstance(module, Sequential):
            children = list(module.named_children())
            for (cn, c), (bn_, b) in zip(children, children[1:]):
                if isinstance(c, Conv2d) and isinstance(b, BatchNorm2d):
                    _fuse_pair(module, cn, bn_)
        for conv_name, bn_name in getattr(module, "conv_bn_pairs", ()):
            _fuse_pair(module, conv_name, bn_name)
    return model
