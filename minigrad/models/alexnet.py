"""AlexNet: torchvision's single-GPU form, and Krizhevsky et al. 2012 as published (``original=True``)."""
from .. import nn
from .weights import accepts_weights


class AlexNet(nn.Module):
    """torchvision's AlexNet (224x224 input; 64-192-384-256-256 filters, no LRN): 61,100,840 parameters."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


class AlexNetOriginal(nn.Module):
    """Krizhevsky, Sutskever and Hinton 2012: 60,965,224 parameters.

    227x227 input (so that conv1, 11x11 stride 4, gives 55x55); 96-256-384-384-256 filters; local response
    normalisation after the ReLUs of conv1 and conv2 (n 5, alpha 1e-4, beta 0.75, k 2 in the paper's
    b = a / (k + alpha sum a^2)^beta, that is ``LocalResponseNorm(5, alpha=5e-4, ...)``, which divides alpha
    by n); overlapping 3x3 stride-2 max-pooling; the two-GPU split as groups=2 in conv2, conv4 and conv5
    (those layers only saw the kernel maps on their own GPU); dropout 0.5 before fc6 and fc7.
    """

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4), nn.ReLU(),                          # 96x55x55
            nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),                                          # 96x27x27
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2), nn.ReLU(),              # 256x27x27
            nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),                                          # 256x13x13
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),                                          # 256x6x6
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


@accepts_weights
def alexnet(num_classes=1000, original=False, dropout=0.5):
    """AlexNet: torchvision's form (61,100,840 parameters) or ``original=True`` (60,965,224, 227x227 input)."""
    return (AlexNetOriginal if original else AlexNet)(num_classes=num_classes, dropout=dropout)
