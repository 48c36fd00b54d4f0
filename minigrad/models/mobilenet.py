"""MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018, torchvision's layout)."""
from .. import nn
from ._common import ConvNormAct, init_weights, make_divisible, resolve_norm
from .weights import accepts_weights


class DepthwiseSeparable(nn.Module):
    """MobileNet v1's unit: 3x3 depthwise conv (groups = channels) + BN + ReLU, then 1x1 pointwise + BN + ReLU."""

    def __init__(self, in_channels, out_channels, stride=1, norm_layer="batch"):
        super().__init__()
        self.depthwise = ConvNormAct(in_channels, in_channels, 3, stride, groups=in_channels, norm_layer=norm_layer)
        self.pointwise = ConvNormAct(in_channels, out_channels, 1, norm_layer=norm_layer)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class MobileNetV1(nn.Module):
    """Table 1 of the paper: a 3x3 stride-2 conv and 13 depthwise-separable units, global pool, fc.
    4,231,976 parameters at width 1.0 (widths are rounded to multiples of 8)."""
    # (output channels, stride) of the 13 depthwise-separable units
    CFG = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
           (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes=1000, width_mult=1.0, dropout=0.0):
        super().__init__()
        c = make_divisible(32 * width_mult)
        layers = [ConvNormAct(3, c, 3, 2)]
        for out, s in self.CFG:
            out = make_divisible(out * width_mult)
            layers.append(DepthwiseSeparable(c, out, s))
            c = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(c, num_classes))
        init_weights(self, conv_mode="fan_out", linear="normal")

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


class InvertedResidual(nn.Module):
    """MobileNet v2's bottleneck: 1x1 expansion (x ``expand_ratio``) + ReLU6, 3x3 depthwise + ReLU6, 1x1 linear
    projection (no activation: the linear bottleneck); a residual connection when stride 1 and inp == oup.

    ``norm_layer=None`` drops BatchNorm; the convs have no biases either way (``bias=True`` adds them).
    Names as torchvision: ``conv`` = Sequential([expand ConvNormAct,] depthwise ConvNormAct, project conv, bn).
    """

    def __init__(self, inp, oup, stride, expand_ratio, norm_layer="batch", bias=False):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2, got {stride}")
        norm_layer = resolve_norm(norm_layer)
        hidden_dim = int(round(inp * expand_ratio))
        self.stride = stride
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(inp, hidden_dim, 1, norm_layer=norm_layer, activation_layer="relu6", bias=bias))
        layers.append(ConvNormAct(hidden_dim, hidden_dim, 3, stride, groups=hidden_dim, norm_layer=norm_layer,
                                  activation_layer="relu6", bias=bias))
        layers.append(nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=bias))
        if norm_layer is not None:
            layers.append(norm_layer(oup))
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """3x3/2 conv to 32, 17 inverted residuals (t, c, n, s table of the paper), 1x1 conv to 1280, pool, fc.
    3,504,872 parameters at width 1.0."""
    CFG = [  # expansion t, output channels c, repeats n, first stride s
        [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, num_classes=1000, width_mult=1.0, dropout=0.2, round_nearest=8):
        super().__init__()
        input_channel = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features = [ConvNormAct(3, input_channel, 3, 2, activation_layer="relu6")]
        for t, c, n, s in self.CFG:
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(ConvNormAct(input_channel, self.last_channel, 1, activation_layer="relu6"))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        init_weights(self, conv_mode="fan_out", linear="normal")  # torchvision's

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


@accepts_weights
def mobilenet_v1(num_classes=1000, width_mult=1.0, dropout=0.0):
    """MobileNet v1 (4,231,976 parameters at width_mult=1.0)."""
    return MobileNetV1(num_classes, width_mult, dropout)


@accepts_weights
def mobilenet_v2(num_classes=1000, width_mult=1.0, dropout=0.2):
    """MobileNet v2 (3,504,872 parameters at width_mult=1.0)."""
    return MobileNetV2(num_classes, width_mult, dropout)
