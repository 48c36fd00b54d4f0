"""``minigrad.models``: the classic CNNs, built from ``minigrad.nn`` layers, and ``summary``.

Every builder takes ``num_classes``; ``get_model(name, **kw)`` builds one by name (``MODELS`` lists them).
"""
from .alexnet import AlexNet, AlexNetOriginal, alexnet
from .efficientnet import (COEFFICIENTS, EfficientNet, MBConv, efficientnet, efficientnet_b0, efficientnet_b1,
                           efficientnet_b2, efficientnet_b3, efficientnet_b4, efficientnet_b5, efficientnet_b6,
                           efficientnet_b7)
from .googlenet import GoogLeNet, Inception, InceptionAux, googlenet, googlenet_loss
from .lenet import LeNet5, LeNet5Classic, lenet5
from .mobilenet import DepthwiseSeparable, InvertedResidual, MobileNetV1, MobileNetV2, mobilenet_v1, mobilenet_v2
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .resnet_cifar import (CifarBasicBlock, CifarResNet, ShortcutA, resnet20, resnet32, resnet44, resnet56,
                           resnet110, resnet_cifar)
from .summary import Summary, summary
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

MODELS = {f.__name__: f for f in (
    lenet5, alexnet, vgg11, vgg13, vgg16, vgg19, vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn,
    resnet18, resnet34, resnet50, resnet101, resnet152, resnet20, resnet32, resnet44, resnet56, resnet110,
    googlenet, mobilenet_v1, mobilenet_v2, efficientnet_b0, efficientnet_b1, efficientnet_b2, efficientnet_b3,
    efficientnet_b4, efficientnet_b5, efficientnet_b6, efficientnet_b7)}


def list_models():
    """The names ``get_model`` accepts, sorted."""
    return sorted(MODELS)


def default_input_size(name, **kw):
    """One sample's shape the model was designed for: (1, 32, 32) for LeNet-5, (3, 32, 32) for the CIFAR
    ResNets, (3, 227, 227) for the original AlexNet, the compound-scaled resolution for EfficientNets."""
    key = name.lower().replace("-", "_")
    if key == "lenet5":
        return (kw.get("in_channels", 1), 32, 32)
    if key in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110"):
        return (3, 32, 32)
    if key == "alexnet" and kw.get("original"):
        return (3, 227, 227)
    if key.startswith("efficientnet_"):
        r = COEFFICIENTS[key.split("_")[1]][2]
        return (3, r, r)
    return (3, 224, 224)


def get_model(name, **kw):
    """Build a zoo model by name, e.g. ``get_model("resnet20", num_classes=10, plain=True)``."""
    key = name.lower().replace("-", "_")
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return MODELS[key](**kw)
