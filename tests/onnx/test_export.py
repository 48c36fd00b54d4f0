"""ONNX out: the zoo and the layers outside it, exported and run in onnxruntime, give minigrad's outputs; a
LeNet-5 trained by the job classifies the test set in onnxruntime with the accuracy the job reported."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import models, nn
from minigrad.__main__ import main
from minigrad.nn import functional as F
from minigrad.onnx import ExportError, export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})


def assert_close(got, ref, rel=1e-4):
    """Equal to ``rel`` of the output's largest magnitude."""
    assert got.shape == ref.shape and got.dtype == ref.dtype
    err = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30)
    assert err <= rel, f"max error {err:.2e} of the largest |output|"


def check_export(model, x, tmp_path, opset=17, rel=1e-4):
    """Export ``model`` at ``x``, run it in onnxruntime, compare with minigrad; return the op types used."""
    path = tmp_path / "model.onnx"
    proto = export(model, x, path, opset=opset)
    with minigrad.no_grad():
        ref = model.eval()(x).numpy()
    got, = run_onnx(path, x.numpy())
    assert_close(got, ref, rel)
    return {n.op_type for n in proto.graph.node}


def randomize_batch_norm(model, seed=0):
    """Running statistics away from (0, 1), so that BatchNormalization is really tested."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(minigrad.tensor(rng.uniform(-0.3, 0.3, n).astype(np.float32)))
            m.running_var.copy_(minigrad.tensor(rng.uniform(0.5, 2.0, n).astype(np.float32)))
            if m.weight is not None:
                m.weight.data.copy_(minigrad.tensor(rng.uniform(0.5, 1.5, n).astype(np.float32)))
                m.bias.data.copy_(minigrad.tensor(rng.uniform(-0.5, 0.5, n).astype(np.float32)))
    return model


# ---- the zoo ------------------------------------------------------------------------------------------------
REPRESENTATIVES = {"lenet5", "alexnet", "vgg11_bn", "resnet18", "resnet50", "resnet20", "googlenet", "mobilenet_v1",
                   "mobilenet_v2", "efficientnet_b0"}


def _side(name):
    return 32 if name == "lenet5" or name.startswith("vgg") or models.default_input_size(name)[1] == 32 else 64


@pytest.mark.parametrize("name", [n if n in REPRESENTATIVES else pytest.param(n, marks=pytest.mark.slow)
                                  for n in models.list_models()])
def test_zoo_model_in_onnxruntime_equals_minigrad(name, tmp_path):
    minigrad.manual_seed(0)
    model = randomize_batch_norm(models.get_model(name))
    c = models.default_input_size(name)[0]
    x = minigrad.randn(2, c, _side(name), _side(name))
    ops = check_export(model, x, tmp_path)
    assert "Conv" in ops and ("Gemm" in ops or name == "lenet5")
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        assert "BatchNormalization" in ops


def test_resnet18_graph_is_made_of_the_onnx_layers(tmp_path):
    """Modules ONNX has as one operator become that operator, and the weights keep their names."""
    model = models.resnet18(num_classes=10)
    proto = export(model, minigrad.randn(1, 3, 32, 32), tmp_path / "r.onnx")
    ops = [n.op_type for n in proto.graph.node]
    assert set(ops) == {"Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "GlobalAveragePool", "Flatten",
                        "Gemm", "Identity"}
    assert ops.count("Conv") == 20 and ops.count("BatchNormalization") == 20
    names = {i.name for i in proto.graph.initializer}
    assert {"conv1.weight", "bn1.running_mean", "fc.weight", "layer4.1.bn2.bias"} <= names
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == [1, 10]


# ---- layers outside the zoo ------------------------------------------------------------------------------------
class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _two_paths(x):
    return minigrad.cat([x[:, :, 1:, ::2], F.pad(x, (0, 0, 0, -1))[:, :, :, ::-2] * 0.5, x[:, 1:3, None, 0, 2:][..., :5].expand(2, 2, 6, 5)], 1)


LAYERS = {
    "conv groups dilation": lambda: nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
    "conv same even kernel": lambda: nn.Conv2d(4, 3, 4, padding="same", bias=False),
    "conv reflect": lambda: nn.Conv2d(4, 3, 3, padding=2, padding_mode="reflect"),
    "conv replicate": lambda: nn.Conv2d(4, 3, 3, stride=2, padding=1, padding_mode="replicate"),
    "max pool ceil overlapping": lambda: nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
    "avg pool ceil no pad count": lambda: nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False),
    "avg pool": lambda: nn.AvgPool2d(2),
    "activations": lambda: nn.Sequential(nn.LeakyReLU(0.1), nn.ELU(0.7), nn.Tanh(), nn.Hardswish(), nn.GELU(),
                                         nn.Hardsigmoid(), nn.Hardtanh(-0.3, 0.4), nn.SiLU(), nn.ReLU6()),
    "softmax and log_softmax": lambda: nn.Sequential(nn.Softmax(dim=1), Lambda(lambda x: x * 10), nn.LogSoftmax(1)),
    "layer norm": lambda: nn.LayerNorm([7, 9]),
    "group norm": lambda: nn.GroupNorm(2, 4),
    "lrn": lambda: nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=2.0),
    "dropout (eval)": lambda: nn.Sequential(nn.Dropout(0.3), nn.Dropout2d(0.2)),
    "slices, crops, cat": lambda: Lambda(_two_paths),
    "batchnorm1d and linear": lambda: nn.Sequential(nn.Flatten(), nn.Linear(4 * 7 * 9, 5), nn.BatchNorm1d(5),
                                                    nn.Sigmoid(), nn.Linear(5, 3, bias=False)),
    "mean, sum, transpose, matmul": lambda: Lambda(lambda x: x.mean((2, 3)) @ x.sum(2).transpose(1, 2)[:, :2, :].sum(1)
                                                   .reshape(2, 4, 1).expand(2, 4, 4)),
}


@pytest.mark.parametrize("case", list(LAYERS))
def test_layer_in_onnxruntime_equals_minigrad(case, tmp_path):
    minigrad.manual_seed(1)
    model = randomize_batch_norm(LAYERS[case]())
    x = minigrad.randn(2, 4, 7, 9)
    check_export(model, x, tmp_path)


def test_circular_padding_needs_opset_19(tmp_path):
    model = nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular")
    x = minigrad.randn(1, 2, 5, 6)
    with pytest.raises(ExportError, match="opset 19"):
        export(model, x, tmp_path / "c.onnx")
    check_export(model, x, tmp_path, opset=19)


# ---- what cannot be exported says why --------------------------------------------------------------------------
@pytest.mark.parametrize("model, message", [
    (nn.ConvTranspose2d(4, 2, 3), "no ONNX converter for the op ConvTranspose2d"),
    (Lambda(lambda x: F.unfold(x, 2)), "no ONNX converter for the op Unfold"),
    (Lambda(lambda x: F.relu6(x)), "nn.ReLU6"),
    (Lambda(lambda x: x[:, [0, 2]]), "advanced indexing"),
    (Lambda(lambda x: minigrad.ones(2, 3)), "does not depend on the input"),
    (Lambda(lambda x: F.avg_pool2d(x, 2, divisor_override=3)), "divisor_override"),
])
def test_unsupported_ops_raise_naming_them(model, message, tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match=re.escape(message)):
        export(model, minigrad.randn(2, 4, 7, 9), path)
    assert not path.exists()


def test_a_change_the_exporter_cannot_see_is_refused(tmp_path):
    def sneaky(x):
        y = x * 2
        with minigrad.no_grad():
            y.add_(1)          # in place, outside the graph
        return y * 3
    with pytest.raises(ExportError, match="changed in place"):
        export(Lambda(sneaky), minigrad.randn(2, 3), tmp_path / "m.onnx")


def test_export_arguments_are_checked(tmp_path):
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset must be in 14..21"):
        export(model, minigrad.randn(1, 3), tmp_path / "m.onnx", opset=11)
    with pytest.raises(TypeError, match="minigrad Tensor"):
        export(model, np.ones((1, 3), np.float32), tmp_path / "m.onnx")
    model.train()
    export(model, minigrad.randn(1, 3), tmp_path / "m.onnx")
    assert model.training          # the mode is restored


def test_missing_onnx_package_is_a_clear_error(monkeypatch, tmp_path):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("no onnx")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install onnx"):
        export(nn.Linear(3, 2), minigrad.randn(1, 3), tmp_path / "m.onnx")


# ---- from a training run ------------------------------------------------------------------------------------
def test_lenet5_trained_by_the_job_has_the_jobs_accuracy_in_onnxruntime(tmp_path):
    out = subprocess.run([sys.executable, "-m", "minigrad", "train", "lenet5", "--limit", "1000", "--epochs", "2",
                          "--out", str(tmp_path), "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    reported = float(re.search(r"done in .* test top-1 ([\d.]+)%", out.stdout).group(1))
    onnx_path = tmp_path / "lenet5.onnx"
    assert main(["export", "lenet5", str(tmp_path / "checkpoint.mg"), str(onnx_path), "--batch-size", "100"]) == 0

    from minigrad import train
    ckpt = minigrad.load(tmp_path / "checkpoint.mg")
    _, _, test_set = train.build_datasets(train.Config(**ckpt["config"]))
    assert len(test_set) == 1000            # the whole MNIST5k test split
    model = models.lenet5()
    model.load_state_dict(ckpt["model"])
    model.eval()
    correct = 0
    for start in range(0, len(test_set), 100):
        xs, ys = zip(*(test_set[i] for i in range(start, start + 100)))
        x = np.stack([np.asarray(t.numpy() if hasattr(t, "numpy") else t) for t in xs]).astype(np.float32)
        logits, = run_onnx(onnx_path, x)
        with minigrad.no_grad():
            assert_close(logits, model(minigrad.tensor(x)).numpy())
        correct += int((logits.argmax(1) == np.array([int(y) for y in ys])).sum())
    assert 100.0 * correct / len(test_set) == pytest.approx(reported, abs=0.005)
    assert reported > 30                   # a trained model, not chance


def test_export_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["export", "lenet5", str(tmp_path / "none.mg"), str(tmp_path / "o.onnx")]) == 2
    err = capsys.readouterr().err
    assert "none.mg" in err and len(err.strip().splitlines()) == 1
    minigrad.save(models.lenet5().state_dict(), tmp_path / "sd.mg")
    assert main(["export", "lenet6", str(tmp_path / "sd.mg"), str(tmp_path / "o.onnx")]) == 2
    assert "unknown model 'lenet6'" in capsys.readouterr().err
    assert main(["export", "resnet20", str(tmp_path / "sd.mg"), str(tmp_path / "o.onnx")]) == 2
    assert "sd.mg' does not fit CifarResNet: missing" in capsys.readouterr().err
    assert not (tmp_path / "o.onnx").exists()
    assert main(["export", "lenet5", str(tmp_path / "sd.mg"), str(tmp_path / "o.onnx")]) == 0
    assert "input (1, 1, 32, 32)" in capsys.readouterr().out
