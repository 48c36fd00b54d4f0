"""Pieces several models share: conv + norm + activation, squeeze-and-excitation, stochastic depth, init."""
import math

import minigrad

from .. import nn


def make_divisible(v, divisor=8, min_value=None):
    """Round a channel count to a multiple of ``divisor`` without going more than 10% below it (MobileNet)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class ConvNormAct(nn.Sequential):
    """Conv2d, then a norm layer, then an activation: torchvision's ``Conv2dNormActivation`` ("0", "1", "2").

    'same' padding ``(kernel_size - 1) // 2``; the conv has a bias only when there is no norm layer.
    ``norm_layer`` / ``activation_layer`` are classes (called with the channel count / no argument) or None.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, groups=1,
                 norm_layer="batch", activation_layer="relu", bias=None):
        norm_layer = resolve_norm(norm_layer)
        activation_layer = resolve_activation(activation_layer)
        bias = norm_layer is None if bias is None else bias
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                            groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer())
        super().__init__(*layers)
        self.out_channels = out_channels


def resolve_norm(norm):
    """'batch' (or 'bn') -> nn.BatchNorm2d; None -> None; a callable is used as given."""
    if isinstance(norm, str):
        if norm.lower() in ("batch", "bn", "batchnorm"):
            return nn.BatchNorm2d
        raise ValueError(f"unknown norm {norm!r}: expected 'batch', None or a callable(num_channels)")
    return norm


def resolve_activation(act):
    """'relu' | 'relu6' | 'silu' | 'tanh' | 'sigmoid' -> the nn class; None -> None; a class is used as given."""
    if isinstance(act, str):
        table = {"relu": nn.ReLU, "relu6": nn.ReLU6, "silu": nn.SiLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
        if act.lower() not in table:
            raise ValueError(f"unknown activation {act!r}: expected one of {sorted(table)} or None")
        return table[act.lower()]
    return act


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): x * sigmoid(fc2(act(fc1(avgpool(x))))), 1x1 convs as the FCs.

    torchvision's names: avgpool, fc1, fc2, activation, scale_activation.
    """

    def __init__(self, input_channels, squeeze_channels, activation="relu", scale_activation="sigmoid"):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = resolve_activation(activation)()
        self.scale_activation = resolve_activation(scale_activation)()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class StochasticDepth(nn.Module):
    """Drop a residual branch for whole samples with probability ``p`` in training (Huang et al. 2016).

    mode "row" draws one keep/drop per sample, "batch" one for the whole batch; survivors are scaled by
    1 / (1 - p) so evaluation needs no rescaling (torchvision.ops.StochasticDepth).
    """

    def __init__(self, p, mode="row"):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        if mode not in ("row", "batch"):
            raise ValueError(f"mode has to be 'row' or 'batch', but got {mode!r}")
        self.p = p
        self.mode = mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1) if self.mode == "row" else (1,) * x.ndim
        mask = (minigrad.rand(*shape, device=x.device) < keep).to(x.dtype)
        return x * mask / keep if keep > 0 else x * mask

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode}"


def init_weights(model, conv_mode="fan_out", linear="normal"):
    """torchvision's initialisation of a CNN, in place.

    Conv2d: He normal (``conv_mode`` "fan_out" as torchvision's ResNet/VGG/MobileNet/EfficientNet, or
    "fan_in" as He et al.'s CIFAR ResNets), bias 0. BatchNorm: weight 1, bias 0. Linear: ``"normal"``
    N(0, 0.01^2) (VGG, MobileNet), ``"uniform"`` U(+-1/sqrt(out_features)) (EfficientNet), ``"kaiming"`` He
    normal fan_in (CIFAR ResNets), or None to keep the layer's default; bias 0 unless None.
    """
    init = nn.init
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode=conv_mode, nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.weight is not None:
            init.ones_(m.weight)
            init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear is not None:
            if linear == "normal":
                init.normal_(m.weight, 0.0, 0.01)
            elif linear == "uniform":
                r = 1.0 / math.sqrt(m.out_features)
                init.uniform_(m.weight, -r, r)
            elif linear == "kaiming":
                init.kaiming_normal_(m.weight)
            else:
                raise ValueError(f"unknown linear init {linear!r}")
            if m.bias is not None:
                init.zeros_(m.bias)
    return model
