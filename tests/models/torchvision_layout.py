"""PyTorch references in torchvision's module layout and state-dict names (torchvision itself has no wheel
that runs with the CPU torch 2.13: its PyPI wheel needs the CUDA build). Shared by the model tests."""
from functools import partial

import torch

tnn = torch.nn


# ---- torchvision's layouts ----------------------------------------------------------------------------------
def conv_norm_act(cin, cout, k=3, stride=1, groups=1, act=tnn.ReLU):    # torchvision's Conv2dNormActivation
    layers = [tnn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), tnn.BatchNorm2d(cout)]
    return tnn.Sequential(*layers, *([act()] if act else []))


class BasicBlock(tnn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, planes in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", tnn.Sequential(BasicBlock(cin, planes, stride), BasicBlock(planes, planes, 1)))
            cin = planes
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class VGG11(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        layers, cin = [], 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
            else:
                layers += [tnn.Conv2d(cin, v, 3, padding=1), tnn.ReLU(inplace=True)]
                cin = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        self.classifier = tnn.Sequential(tnn.Linear(512 * 49, 4096), tnn.ReLU(True), tnn.Dropout(),
                                         tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(),
                                         tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class InvertedResidual(tnn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hidden = int(round(inp * t))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [conv_norm_act(inp, hidden, 1, act=tnn.ReLU6)] if t != 1 else []
        layers += [conv_norm_act(hidden, hidden, 3, stride, hidden, act=tnn.ReLU6),
                   tnn.Conv2d(hidden, oup, 1, 1, 0, bias=False), tnn.BatchNorm2d(oup)]
        self.conv = tnn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        features, cin = [conv_norm_act(3, 32, 3, 2, act=tnn.ReLU6)], 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                           (6, 160, 3, 2), (6, 320, 1, 1)):
            for i in range(n):
                features.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(conv_norm_act(cin, 1280, 1, act=tnn.ReLU6))
        self.features = tnn.Sequential(*features)
        self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(1280, num_classes))

    def forward(self, x):
        x = tnn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class SqueezeExcitation(tnn.Module):
    def __init__(self, cin, csq):
        super().__init__()
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc1 = tnn.Conv2d(cin, csq, 1)
        self.fc2 = tnn.Conv2d(csq, cin, 1)
        self.activation = tnn.SiLU()
        self.scale_activation = tnn.Sigmoid()

    def forward(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


class MBConv(tnn.Module):
    def __init__(self, t, k, stride, cin, cout):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        hidden = cin * t
        silu = partial(conv_norm_act, act=tnn.SiLU)
        layers = [silu(cin, hidden, 1)] if hidden != cin else []
        layers += [silu(hidden, hidden, k, stride, hidden), SqueezeExcitation(hidden, max(1, cin // 4)),
                   conv_norm_act(hidden, cout, 1, act=None)]
        self.block = tnn.Sequential(*layers)
        self.stochastic_depth = tnn.Identity()     # eval mode: torchvision's StochasticDepth is the identity

    def forward(self, x):
        y = self.block(x)
        return self.stochastic_depth(y) + x if self.use_res_connect else y


class EfficientNetB0(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        layers = [conv_norm_act(3, 32, 3, 2, act=tnn.SiLU)]
        for t, k, s, cin, cout, n in ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                                      (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                                      (6, 3, 1, 192, 320, 1)):
            layers.append(tnn.Sequential(*[MBConv(t, k, s if i == 0 else 1, cin if i == 0 else cout, cout)
                                           for i in range(n)]))
        layers.append(conv_norm_act(320, 1280, 1, act=tnn.SiLU))
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


REFERENCES = {"resnet18": (ResNet18, 64), "mobilenet_v2": (MobileNetV2, 64), "efficientnet_b0": (EfficientNetB0, 64),
              "vgg11": (VGG11, 32)}
