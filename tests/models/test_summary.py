"""minigrad.summary: shapes, parameters and multiply-adds of issue 5."""
import pytest

import minigrad
from minigrad import models as M
from minigrad import nn


def test_lenet5_conv1_shape_and_table():
    s = minigrad.summary(M.lenet5(), (1, 32, 32))
    assert s.rows[0].name == "features.0" and s.rows[0].output_shape == (1, 6, 28, 28)
    assert s.total_params == s.trainable_params == 61_706
    assert sum(r.params for r in s.rows) == 61_706
    assert s.total_macs == 117_600 + 240_000 + 48_000 + 10_080 + 840
    text = str(s)
    assert "features.0 (Conv2d)" in text and "61,706" in text and "[1, 6, 28, 28]" in text
    assert s.activation_bytes == sum(r.output_bytes for r in s.rows) > 0


def test_lenet5_classic_trainable_and_fixed():
    s = minigrad.summary(M.lenet5(classic=True), (1, 32, 32))
    assert s.trainable_params == 60_000 and s.non_trainable_params == 840
    assert s["C1"].output_shape == (1, 6, 28, 28) and s["C3"].output_shape == (1, 16, 10, 10)
    assert s["C3"].params == 1_516 and s["C3"].macs == 60 * 25 * 100  # only the connected kernels
    assert s["output"].output_shape == (1, 10)


def test_alexnet_original_shapes():
    s = minigrad.summary(M.alexnet(original=True), (3, 227, 227))
    assert s["features.0"].output_shape == (1, 96, 55, 55)   # conv1
    assert s["features.3"].output_shape == (1, 96, 27, 27)   # first (overlapping) max-pool
    assert s.total_params == 60_965_224


def test_5x5_same_conv_and_1x1_bottleneck_macs():
    direct = nn.Conv2d(192, 32, 5, padding=2)
    s = minigrad.summary(direct, (192, 28, 28))
    assert s.rows[0].output_shape == (1, 32, 28, 28)
    assert s.total_macs == 120_422_400
    bottleneck = nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2))
    assert minigrad.summary(bottleneck, (192, 28, 28)).total_macs == 12_443_648


def test_mobilenet_v2_bottleneck_1020():
    block = M.InvertedResidual(5, 20, stride=1, expand_ratio=6, norm_layer=None)
    s = minigrad.summary(block, (5, 8, 8))
    assert s.total_params == 1_020
    assert [r.params for r in s.rows if r.type == "Conv2d"] == [150, 270, 600]
    assert s.rows[-1].output_shape == (1, 20, 8, 8)


def test_grouped_conv_macs_and_batch():
    conv = nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False)
    s = minigrad.summary(conv, (8, 5, 5), batch_size=2)
    assert s.rows[0].output_shape == (2, 16, 5, 5)
    assert s.total_macs == 2 * 25 * 16 * 2 * 9


# the published multiply-adds at 224x224 (G), to within 2%; and our exact count (conv + linear, no bias)
PUBLISHED_MACS = [("alexnet", 0.71, 714_188_480), ("vgg16", 15.5, 15_470_264_320),
                  ("resnet18", 1.81, 1_814_073_344), ("resnet50", 4.09, 4_089_184_256),
                  ("mobilenet_v2", 0.30, 300_774_272), ("efficientnet_b0", 0.39, 385_814_752)]


@pytest.mark.parametrize("name, gmacs, exact", PUBLISHED_MACS, ids=[n for n, *_ in PUBLISHED_MACS])
def test_published_macs_at_224(name, gmacs, exact):
    s = minigrad.summary(M.get_model(name), (3, 224, 224))
    assert abs(s.total_macs / 1e9 - gmacs) / gmacs < 0.02, s.total_macs
    assert s.total_macs == exact
    assert s.rows[-1].output_shape == (1, 1000)


def test_summary_restores_mode_and_googlenet_train_outputs():
    m = M.googlenet(num_classes=10)
    m.train()
    m.inception3a.branch1.eval()
    s = minigrad.summary(m, (3, 64, 64))
    assert m.training and m.aux1.fc1.training and not m.inception3a.branch1.relu.training
    assert not any(r.name.startswith("aux") for r in s.rows)  # eval: no auxiliary heads
    assert s.total_params == sum(p.numel() for p in m.parameters())
    s = minigrad.summary(m, (3, 64, 64), batch_size=2, mode="train")
    assert any(r.name.startswith("aux1") for r in s.rows)


def test_summary_needs_an_input():
    with pytest.raises(ValueError, match="input_size"):
        minigrad.summary(M.lenet5())


def test_cli_summary(capsys):
    from minigrad.__main__ import main
    assert main(["summary", "lenet5", "--input", "1", "32", "32"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 61,706" in out and "[1, 6, 28, 28]" in out
    assert main(["summary", "lenet5", "--arg", "classic=True"]) == 0
    assert "Trainable params: 60,000" in capsys.readouterr().out
    assert main(["summary", "--list"]) == 0
    assert "resnet110" in capsys.readouterr().out


def test_depth_merges_rows_and_keeps_totals():
    m = M.resnet20()
    full = minigrad.summary(m, (3, 32, 32))
    short = minigrad.summary(m, (3, 32, 32), depth=1)
    assert [r.name for r in short.rows] == ["conv1", "bn1", "relu", "layer1", "layer2", "layer3", "avgpool",
                                           "flatten", "fc"]
    assert short["layer2"].type == "Sequential" and short["layer2"].output_shape == (1, 32, 16, 16)
    assert short.total_macs == full.total_macs == 40_551_040
    assert sum(r.params for r in short.rows) == short.total_params == 269_722


def test_cli_errors_are_messages(capsys):
    from minigrad.__main__ import main
    assert main(["summary", "resnet19"]) == 2
    assert "unknown model 'resnet19'" in capsys.readouterr().err
    assert main(["summary", "lenet5", "--arg", "colour=1"]) == 2
    assert main([]) == 2


def test_python_dash_m_minigrad_summary():
    import pathlib
    import subprocess
    import sys
    root = pathlib.Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "minigrad", "summary", "resnet20", "--depth", "1"], cwd=root,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Total params: 269,722" in r.stdout and "layer3 (Sequential)" in r.stdout
