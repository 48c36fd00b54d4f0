"""nn.utils.fuse_conv_bn: every eval-mode BatchNorm that follows a conv is folded into it, outputs unchanged."""
import numpy as np
import pytest

import minigrad
from minigrad import models as M
from minigrad import nn
from minigrad.nn.utils import fuse_conv_bn


def _randomize_bn(model, seed=0):
    rng = np.random.default_rng(seed)
    with minigrad.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                C = m.num_features
                m.weight.copy_(minigrad.tensor(rng.uniform(0.5, 1.5, C).astype(np.float32)))
                m.bias.copy_(minigrad.tensor(rng.uniform(-0.5, 0.5, C).astype(np.float32)))
                m.running_mean.copy_(minigrad.tensor(rng.uniform(-0.3, 0.3, C).astype(np.float32)))
                m.running_var.copy_(minigrad.tensor(rng.uniform(0.5, 2.0, C).astype(np.float32)))


def n_bn(model):
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("name, kw, shape", [
    ("resnet20", {}, (3, 16, 16)), ("resnet18", {}, (3, 32, 32)), ("resnet50", {}, (3, 32, 32)),
    ("mobilenet_v2", {"width_mult": 0.5}, (3, 32, 32)), ("efficientnet_b0", {}, (3, 32, 32)),
    ("googlenet", {"batch_norm": True, "aux_logits": False}, (3, 64, 64)), ("vgg11_bn", {}, (3, 32, 32)),
])
def test_fused_model_gives_the_same_outputs(name, kw, shape):
    minigrad.manual_seed(0)
    model = M.get_model(name, num_classes=10, **kw)
    _randomize_bn(model)
    model.eval()
    x = minigrad.tensor(np.random.default_rng(1).standard_normal((2,) + shape).astype(np.float32))
    with minigrad.no_grad():
        y0 = model(x).numpy()
        fused = fuse_conv_bn(model, inplace=False)
        y1 = fused(x).numpy()
    assert n_bn(fused) == 0 and n_bn(model) > 0   # the original is untouched
    np.testing.assert_allclose(y1, y0, rtol=1e-4, atol=1e-5 * np.abs(y0).max())


def test_fuse_needs_eval_mode_and_leaves_other_layers():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.BatchNorm2d(4))
    with pytest.raises(RuntimeError, match="eval"):
        fuse_conv_bn(model)
    model.eval()
    fuse_conv_bn(model)
    assert isinstance(model[1], nn.Identity) and isinstance(model[3], nn.BatchNorm2d)  # bn after relu stays
    assert model[0].bias is not None


def test_bench_fuse_quick(capsys):
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_fuse.py"
    spec = importlib.util.spec_from_file_location("bench_fuse", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.main(["--quick"])
    assert len(results) == 2 and all(t0 > 0 and t1 > 0 for _, t0, t1 in results)
    assert "speedup" in capsys.readouterr().out
