"""Every parameter count of issue 5, exactly. The big models are built and counted, never run."""
import pytest

from minigrad import models as M


def n_params(module, trainable=None):
    return sum(p.numel() for p in module.parameters() if trainable is None or p.requires_grad == trainable)


# (builder name, builder kwargs, parameter count): the numbers, and torchvision's for the other
# VGG / EfficientNet variants (same layouts).
COUNTS = [
    ("lenet5", {}, 61_706),
    ("alexnet", {}, 61_100_840),
    ("alexnet", {"original": True}, 60_965_224),
    ("vgg11", {}, 132_863_336),
    ("vgg13", {}, 133_047_848),
    ("vgg16", {}, 138_357_544),
    ("vgg19", {}, 143_667_240),
    ("vgg11_bn", {}, 132_868_840),
    ("vgg13_bn", {}, 133_053_736),
    ("vgg16_bn", {}, 138_365_992),
    ("vgg19_bn", {}, 143_678_248),
    ("resnet18", {}, 11_689_512),
    ("resnet34", {}, 21_797_672),
    ("resnet50", {}, 25_557_032),
    ("resnet101", {}, 44_549_160),
    ("resnet152", {}, 60_192_808),
    ("resnet20", {}, 269_722),
    ("resnet32", {}, 464_154),
    ("resnet44", {}, 658_586),
    ("resnet56", {}, 853_018),
    ("resnet110", {}, 1_727_962),
    ("googlenet", {"aux_logits": False}, 6_998_552),
    ("googlenet", {"aux_logits": False, "batch_norm": True}, 7_005_832),
    ("mobilenet_v1", {}, 4_231_976),
    ("mobilenet_v2", {}, 3_504_872),
    ("efficientnet_b0", {}, 5_288_548),
    ("efficientnet_b1", {}, 7_794_184),
    ("efficientnet_b2", {}, 9_109_994),
    ("efficientnet_b3", {}, 12_233_232),
    ("efficientnet_b4", {}, 19_341_616),
    ("efficientnet_b5", {}, 30_389_784),
    ("efficientnet_b6", {}, 43_040_704),
    ("efficientnet_b7", {}, 66_347_960),
]


@pytest.mark.parametrize("name, kw, expected", COUNTS, ids=[f"{n}{'-' + '-'.join(k) if k else ''}"
                                                            for n, k, _ in COUNTS])
def test_parameter_count(name, kw, expected):
    assert n_params(M.get_model(name, **kw)) == expected


def test_lenet5_classic_60000_trainable_and_c3_1516():
    m = M.lenet5(classic=True)
    assert n_params(m, trainable=True) == 60_000
    assert n_params(m.C3) == 1_516
    assert [n_params(x) for x in (m.C1, m.S2, m.S4, m.C5, m.F6)] == [156, 12, 32, 48_120, 10_164]
    assert n_params(m.output, trainable=True) == 0  # the RBF centres are fixed


def test_googlenet_auxiliary_heads_6379728():
    m = M.googlenet()
    assert n_params(m.aux1) + n_params(m.aux2) == 6_379_728
    assert n_params(m) == 6_998_552 + 6_379_728


def test_mobilenet_v2_bottleneck_without_norm_1020():
    block = M.InvertedResidual(5, 20, stride=1, expand_ratio=6, norm_layer=None)
    assert n_params(block) == 1_020  # 5*30 + 30*3*3 + 30*20


def test_cifar_resnet_switches():
    # option-A shortcuts have no parameters, so plain=True keeps the count; norm=None trades BN for biases
    assert n_params(M.resnet20(plain=True)) == 269_722
    assert n_params(M.resnet20(norm=None)) == 269_034
    assert not any("bn" in k and "weight" in k for k, _ in M.resnet20(norm=None).named_parameters())


def test_width_multipliers():
    assert n_params(M.mobilenet_v2(width_mult=0.5)) == 1_968_680
    assert n_params(M.mobilenet_v1(width_mult=0.5)) < 4_231_976


def test_num_classes_and_registry():
    assert M.get_model("resnet20", num_classes=100).fc.out_features == 100
    assert "efficientnet_b7" in M.list_models()
    with pytest.raises(ValueError, match="unknown model"):
        M.get_model("resnet19")
    with pytest.raises(ValueError, match="6n\\+2"):
        M.resnet_cifar(21)
