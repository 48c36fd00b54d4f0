"""EfficientNet B0-B7 (Tan and Le 2019) from one builder, torchvision's layout.

B0 is seven stages of MBConv blocks (mobile inverted bottleneck with squeeze-and-excitation and SiLU);
B1-B7 scale it with compound coefficients: width (channels x w, rounded to multiples of 8), depth (repeats x
d, rounded up) and the input resolution. Residual branches get stochastic depth whose drop probability grows
linearly with the block index up to ``stochastic_depth_prob``. b0 has 5,288,548 parameters.
"""
import copy
import math
from functools import partial

from .. import nn
from ._common import ConvNormAct, SqueezeExcitation, StochasticDepth, init_weights, make_divisible
from .weights import accepts_weights

# name: (width_mult, depth_mult, resolution, dropout)
COEFFICIENTS = {
    "b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5),
}

# B0's stages: expand ratio, kernel, first stride, input channels, output channels, repeats
B0_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class MBConvConfig:
    """One stage, scaled: channels by ``width_mult`` (multiples of 8), repeats by ``depth_mult`` (ceil)."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 width_mult=1.0, depth_mult=1.0):
        self.expand_ratio, self.kernel, self.stride = expand_ratio, kernel, stride
        self.input_channels = make_divisible(input_channels * width_mult, 8)
        self.out_channels = make_divisible(out_channels * width_mult, 8)
        self.num_layers = int(math.ceil(num_layers * depth_mult))


class MBConv(nn.Module):
    """Mobile inverted bottleneck: [1x1 expand + BN + SiLU], kxk depthwise + BN + SiLU, squeeze-and-excitation
    (squeeze to input_channels // 4), 1x1 project + BN (linear); residual with stochastic depth when the
    shape is kept. Names as torchvision: ``block`` (Sequential), ``stochastic_depth``."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer="batch"):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = make_divisible(cnf.input_channels * cnf.expand_ratio, 8)
        layers = []
        if expanded != cnf.input_channels:
            layers.append(ConvNormAct(cnf.input_channels, expanded, 1, norm_layer=norm_layer, activation_layer="silu"))
        layers.append(ConvNormAct(expanded, expanded, cnf.kernel, cnf.stride, groups=expanded,
                                  norm_layer=norm_layer, activation_layer="silu"))
        layers.append(SqueezeExcitation(expanded, max(1, cnf.input_channels // 4), activation="silu"))
        layers.append(ConvNormAct(expanded, cnf.out_channels, 1, norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


class EfficientNet(nn.Module):
    """Stem 3x3/2 conv (SiLU), the MBConv stages, 1x1 conv to 4x the last width, pool, dropout, fc."""

    def __init__(self, stages, dropout, stochastic_depth_prob=0.2, num_classes=1000, norm_layer="batch"):
        super().__init__()
        layers = [ConvNormAct(3, stages[0].input_channels, 3, 2, norm_layer=norm_layer, activation_layer="silu")]
        total_blocks = sum(c.num_layers for c in stages)
        block_id = 0
        for cnf in stages:
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # only the first block of a stage changes channels or strides
                    block_cnf.input_channels, block_cnf.stride = block_cnf.out_channels, 1
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(MBConv(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = stages[-1].out_channels
        last_out = 4 * last_in
        layers.append(ConvNormAct(last_in, last_out, 1, norm_layer=norm_layer, activation_layer="silu"))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last_out, num_classes))
        init_weights(self, conv_mode="fan_out", linear="uniform")  # torchvision's

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


@accepts_weights
def efficientnet(variant="b0", num_classes=1000, stochastic_depth_prob=0.2, dropout=None):
    """Build EfficientNet-``variant`` ('b0'..'b7') from B0's stages and the compound coefficients.

    B5-B7 use BatchNorm with eps=1e-3, momentum=0.01 as torchvision does. ``COEFFICIENTS[variant][2]`` is the
    input resolution the variant was designed for.
    """
    if variant not in COEFFICIENTS:
        raise ValueError(f"unknown EfficientNet variant {variant!r}: expected one of {sorted(COEFFICIENTS)}")
    width, depth, _, default_dropout = COEFFICIENTS[variant]
    stages = [MBConvConfig(*s, width_mult=width, depth_mult=depth) for s in B0_STAGES]
    norm = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01) if variant in ("b5", "b6", "b7") else "batch"
    return EfficientNet(stages, default_dropout if dropout is None else dropout, stochastic_depth_prob,
                        num_classes, norm)


@accepts_weights
def efficientnet_b0(num_classes=1000, **kw): return efficientnet("b0", num_classes, **kw)
@accepts_weights
def efficientnet_b1(num_classes=1000, **kw): return efficientnet("b1", num_classes, **kw)
@accepts_weights
def efficientnet_b2(num_classes=1000, **kw): return efficientnet("b2", num_classes, **kw)
@accepts_weights
def efficientnet_b3(num_classes=1000, **kw): return efficientnet("b3", num_classes, **kw)
@accepts_weights
def efficientnet_b4(num_classes=1000, **kw): return efficientnet("b4", num_classes, **kw)
@accepts_weights
def efficientnet_b5(num_classes=1000, **kw): return efficientnet("b5", num_classes, **kw)
@accepts_weights
def efficientnet_b6(num_classes=1000, **kw): return efficientnet("b6", num_classes, **kw)
@accepts_weights
def efficientnet_b7(num_classes=1000, **kw): return efficientnet("b7", num_classes, **kw)
