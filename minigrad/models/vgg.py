"""VGG (Simonyan and Zisserman 2014), configurations A, B, D, E = vgg11, vgg13, vgg16, vgg19, torchvision's layout."""
from .. import nn
from ._common import init_weights
from .weights import accepts_weights

# numbers are 3x3 conv widths, "M" a 2x2 stride-2 max-pool
CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, in_channels=3):
    """The feature extractor: conv3x3(pad 1) [+ BatchNorm] + ReLU per number, max-pool per "M"."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU())
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features, a 7x7 adaptive average pool (any input of at least 32x32 works), and the 4096-4096 classifier."""

    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        init_weights(self, conv_mode="fan_out", linear="normal")  # torchvision's

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def _vgg(cfg, batch_norm, num_classes, dropout):
    return VGG(make_layers(CFGS[cfg], batch_norm), num_classes=num_classes, dropout=dropout)


@accepts_weights
def vgg11(num_classes=1000, dropout=0.5): return _vgg("A", False, num_classes, dropout)
@accepts_weights
def vgg13(num_classes=1000, dropout=0.5): return _vgg("B", False, num_classes, dropout)
@accepts_weights
def vgg16(num_classes=1000, dropout=0.5): return _vgg("D", False, num_classes, dropout)
@accepts_weights
def vgg19(num_classes=1000, dropout=0.5): return _vgg("E", False, num_classes, dropout)
@accepts_weights
def vgg11_bn(num_classes=1000, dropout=0.5): return _vgg("A", True, num_classes, dropout)
@accepts_weights
def vgg13_bn(num_classes=1000, dropout=0.5): return _vgg("B", True, num_classes, dropout)
@accepts_weights
def vgg16_bn(num_classes=1000, dropout=0.5): return _vgg("D", True, num_classes, dropout)
@accepts_weights
def vgg19_bn(num_classes=1000, dropout=0.5): return _vgg("E", True, num_classes, dropout)
