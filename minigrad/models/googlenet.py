"""GoogLeNet / Inception v1 as Szegedy et al. 2014 built it (Table 1 of "Going deeper with convolutions").

Conv layers carry biases, local response normalisation follows the stem's first pool and conv2, the
5x5 branches are true 5x5 convolutions (torchvision uses 3x3 there), 1x1 "reduce" bottlenecks precede the
3x3 and 5x5 convs, and two auxiliary classifiers sit on inception 4a and 4d. 6,998,552 parameters without
the auxiliary heads, 6,379,728 in the two heads. ``batch_norm=True``: BatchNorm after every conv, no conv
biases, no LRN: 7,005,832 without the heads.
In training mode with ``aux_logits=True`` the forward returns ``(logits, aux1, aux2)``; ``googlenet_loss``
combines their losses (auxiliary weight 0.3, as in the paper).
"""
import minigrad
import minigrad.nn.functional as F

from .. import nn
from .weights import accepts_weights


class BasicConv2d(nn.Module):
    """conv (bias unless batch-normed) [+ BatchNorm] + ReLU."""
    conv_bn_pairs = (("conv", "bn"),)  # for nn.utils.fuse_conv_bn

    def __init__(self, in_channels, out_channels, batch_norm=False, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=not batch_norm, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """The inception module: four parallel branches concatenated along channels.

    branch1: 1x1 (``ch1x1``); branch2: 1x1 reduce (``ch3x3red``) then 3x3 (``ch3x3``); branch3: 1x1 reduce
    (``ch5x5red``) then 5x5 (``ch5x5``); branch4: 3x3 stride-1 max-pool then 1x1 pool projection
    (``pool_proj``). Output channels: ch1x1 + ch3x3 + ch5x5 + pool_proj.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, batch_norm=False):
        super().__init__()
        bn = batch_norm
        self.branch1 = BasicConv2d(in_channels, ch1x1, bn, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, bn, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, bn, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, bn, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, bn, kernel_size=5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
                                     BasicConv2d(in_channels, pool_proj, bn, kernel_size=1))

    def forward(self, x):
        return minigrad.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 5x5 stride-3 average pool (14x14 -> 4x4 at 224x224 input), 1x1 conv to 128 +
    ReLU, fc 1024 + ReLU, dropout 0.7, fc to the classes. At other input sizes an adaptive pool brings the
    map to the 4x4 the fc expects (the 5x5 pool is skipped when the map is smaller than 5x5)."""

    def __init__(self, in_channels, num_classes, batch_norm=False, dropout=0.7):
        super().__init__()
        self.avgpool = nn.AvgPool2d(5, stride=3)
        self.resize = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, batch_norm, kernel_size=1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(2048, 1024)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.avgpool(x) if min(x.shape[-2:]) >= 5 else x
        x = self.flatten(self.conv(self.resize(x)))
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """Inception v1, 224x224 input (any size of at least ~64x64 runs: the final pool is adaptive)."""

    def __init__(self, num_classes=1000, aux_logits=True, batch_norm=False, dropout=0.4, dropout_aux=0.7):
        super().__init__()
        bn = batch_norm
        self.aux_logits = aux_logits
        # LRN as in the BVLC reference model (the paper gives no constants): size 5, alpha 1e-4, beta 0.75
        lrn = (lambda: nn.Identity()) if bn else (lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0))
        self.conv1 = BasicConv2d(3, 64, bn, kernel_size=7, stride=2, padding=3)        # 64x112x112
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)                      # 64x56x56
        self.lrn1 = lrn()
        self.conv2 = BasicConv2d(64, 64, bn, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, bn, kernel_size=3, padding=1)                # 192x56x56
        self.lrn2 = lrn()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)                      # 192x28x28

        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32, bn)                 # 256x28x28
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64, bn)               # 480x28x28
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)                      # 480x14x14

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64, bn)                # 512x14x14
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64, bn)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64, bn)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64, bn)               # 528x14x14
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128, bn)             # 832x14x14
        self.maxpool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)                      # 832x7x7

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128, bn)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128, bn)             # 1024x7x7

        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, bn, dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, bn, dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.lrn1(x)
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux = self.aux_logits and self.training
        aux1 = self.aux1(x) if aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.flatten(self.avgpool(x))))
        return (x, aux1, aux2) if aux else x


def googlenet_loss(outputs, target, aux_weight=0.3, criterion=None):
    """Main loss + ``aux_weight`` x each auxiliary loss; ``outputs`` is a GoogLeNet's forward result
    (a tuple in training mode with auxiliary heads, else one tensor). ``criterion`` defaults to cross-entropy."""
    criterion = criterion or F.cross_entropy
    if isinstance(outputs, (tuple, list)):
        main, *auxes = outputs
        loss = criterion(main, target)
        for a in auxes:
            if a is not None:
                loss = loss + aux_weight * criterion(a, target)
        return loss
    return criterion(outputs, target)


@accepts_weights
def googlenet(num_classes=1000, aux_logits=True, batch_norm=False, dropout=0.4, dropout_aux=0.7):
    """Inception v1 (6,998,552 parameters + 6,379,728 in the auxiliary heads; ``batch_norm=True``: 7,005,832)."""
    return GoogLeNet(num_classes, aux_logits, batch_norm, dropout, dropout_aux)
