"""The CIFAR-10 ResNets of He et al. 2016 (section 4.2): 6n+2 layers, three stages of 16, 32, 64 filters.

Option-A shortcuts: where the shape changes, the shortcut subsamples (stride 2) and zero-pads the new
channels, so shortcuts add no parameters. ``plain=True`` removes the shortcuts (the degradation experiment);
``norm=None`` removes BatchNorm (the convolutions then get biases, and keep the layers' default
initialisation: He initialisation without BatchNorm makes the residual sums explode).
"""
import minigrad

from .. import nn
from ._common import init_weights, resolve_norm
from .weights import accepts_weights


class ShortcutA(nn.Module):
    """Option A: x[:, :, ::stride, ::stride] zero-padded from in_planes to out_planes channels (both sides)."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.in_planes, self.out_planes, self.stride = in_planes, out_planes, stride

    def forward(self, x):
        s = self.stride
        x = x[:, :, ::s, ::s] if s > 1 else x
        extra = self.out_planes - self.in_planes
        if extra == 0:
            return x
        N, _, H, W = x.shape
        before = minigrad.zeros(N, extra // 2, H, W, dtype=x.dtype, device=x.device)
        after = minigrad.zeros(N, extra - extra // 2, H, W, dtype=x.dtype, device=x.device)
        return minigrad.cat([before, x, after], 1)

    def extra_repr(self):
        return f"{self.in_planes}, {self.out_planes}, stride={self.stride}"


class CifarBasicBlock(nn.Module):
    """Two 3x3 convs; out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), or without the shortcut."""
    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"))  # for nn.utils.fuse_conv_bn

    def __init__(self, in_planes, planes, stride=1, plain=False, norm="batch"):
        super().__init__()
        norm = resolve_norm(norm)
        bias = norm is None
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=bias)
        self.bn1 = norm(planes) if norm is not None else nn.Identity()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=bias)
        self.bn2 = norm(planes) if norm is not None else nn.Identity()
        self.relu = nn.ReLU()
        self.plain = plain
        self.shortcut = None if plain else (
            ShortcutA(in_planes, planes, stride) if stride != 1 or in_planes != planes else nn.Identity())

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu(out)


class CifarResNet(nn.Module):
    """conv3x3(16) - 3 stages of n blocks (16, 32, 64 filters; 32x32, 16x16, 8x8 maps) - global avg pool - fc."""
    conv_bn_pairs = (("conv1", "bn1"),)

    def __init__(self, depth, num_classes=10, plain=False, norm="batch", in_channels=3):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 (20, 32, 44, 56, 110, ...), got {depth}")
        n = (depth - 2) // 6
        norm_cls = resolve_norm(norm)
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=norm_cls is None)
        self.bn1 = norm_cls(16) if norm_cls is not None else nn.Identity()
        self.relu = nn.ReLU()
        self.in_planes = 16
        self.layer1 = self._make_layer(16, n, 1, plain, norm_cls)
        self.layer2 = self._make_layer(32, n, 2, plain, norm_cls)
        self.layer3 = self._make_layer(64, n, 2, plain, norm_cls)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, num_classes)
        if norm_cls is not None:  # He et al.'s initialisation
            init_weights(self, conv_mode="fan_in", linear="kaiming")
        # without BatchNorm, He init doubles the signal's variance in every residual block (x500 after 9
        # blocks, and the first SGD step diverges); the layers' default init (variance 1/(3 fan_in)) trains

    def _make_layer(self, planes, n, stride, plain, norm):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(CifarBasicBlock(self.in_planes, planes, s, plain, norm))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.flatten(self.avgpool(x)))


@accepts_weights
def resnet_cifar(depth, num_classes=10, plain=False, norm="batch", in_channels=3):
    """A 6n+2-layer CIFAR ResNet (``plain=True``: no shortcuts; ``norm=None``: no BatchNorm;
    ``in_channels=1`` for grey images such as Fashion-MNIST)."""
    return CifarResNet(depth, num_classes, plain, norm, in_channels)


@accepts_weights
def resnet20(num_classes=10, plain=False, norm="batch", in_channels=3): return CifarResNet(20, num_classes, plain, norm, in_channels)
@accepts_weights
def resnet32(num_classes=10, plain=False, norm="batch", in_channels=3): return CifarResNet(32, num_classes, plain, norm, in_channels)
@accepts_weights
def resnet44(num_classes=10, plain=False, norm="batch", in_channels=3): return CifarResNet(44, num_classes, plain, norm, in_channels)
@accepts_weights
def resnet56(num_classes=10, plain=False, norm="batch", in_channels=3): return CifarResNet(56, num_classes, plain, norm, in_channels)
@accepts_weights
def resnet110(num_classes=10, plain=False, norm="batch", in_channels=3): return CifarResNet(110, num_classes, plain, norm, in_channels)
