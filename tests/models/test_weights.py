"""Weights in: a torchvision-layout state dict made here with random weights, saved by torch, converted with
``python -m minigrad convert-weights`` and loaded with ``models.<name>(weights=...)`` gives PyTorch's logits
(the references are in torchvision_layout.py)."""
from fractions import Fraction

import numpy as np
import pytest

import minigrad
from minigrad import models
from minigrad.__main__ import main
from minigrad.models.weights import load_weights, read_state_dict
from minigrad.serialization import CheckpointError, load_safetensors, save_safetensors

torch = pytest.importorskip("torch")
tnn = torch.nn
from torchvision_layout import REFERENCES  # noqa: E402  (needs torch)


def random_torch_model(name, seed=0):
    """The PyTorch reference with random weights and random BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = REFERENCES[name][0]()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.5, 0.5, generator=g)
                m.running_mean.uniform_(-0.3, 0.3, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.num_batches_tracked.fill_(17)
    return model.eval()


def convert(tmodel, tmp_path, name):
    pth, st = tmp_path / f"{name}.pth", tmp_path / f"{name}.safetensors"
    torch.save(tmodel.state_dict(), pth)
    assert main(["convert-weights", str(pth), str(st)]) == 0
    return st


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "efficientnet_b0",
                                  pytest.param("vgg11", marks=pytest.mark.slow)])
def test_torch_checkpoint_converted_and_loaded_gives_torch_logits(name, tmp_path):
    tmodel = random_torch_model(name)
    path = convert(tmodel, tmp_path, name)
    model = getattr(models, name)(weights=str(path)).eval()
    size = REFERENCES[name][1]
    x = np.random.default_rng(1).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        ref = tmodel(torch.from_numpy(x)).numpy()
    with minigrad.no_grad():
        out = model(minigrad.tensor(x)).numpy()
    assert out.shape == ref.shape == (2, 1000)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    tsd = tmodel.state_dict()
    for k, v in model.state_dict().items():        # every tensor, num_batches_tracked included
        np.testing.assert_array_equal(v.numpy(), tsd[k].numpy(), err_msg=k)


def test_other_num_classes_replaces_the_head_only(tmp_path):
    tmodel = random_torch_model("resnet18")
    path = convert(tmodel, tmp_path, "resnet18")
    minigrad.manual_seed(3)
    fresh = models.resnet18(num_classes=10)
    minigrad.manual_seed(3)
    model = models.resnet18(num_classes=10, weights=path)
    tsd = tmodel.state_dict()
    for k, v in model.state_dict().items():
        if k.startswith("fc."):
            assert tuple(v.shape) == ((10, 512) if k == "fc.weight" else (10,))
            np.testing.assert_array_equal(v.numpy(), fresh.state_dict()[k].numpy())   # fresh initialisation
        else:
            np.testing.assert_array_equal(v.numpy(), tsd[k].numpy())


def test_weights_that_do_not_fit_are_refused_naming_the_file_and_keys(tmp_path):
    path = convert(random_torch_model("resnet18"), tmp_path, "resnet18")
    with pytest.raises(CheckpointError, match=r"resnet18\.safetensors.*ResNet: missing 96 key\(s\): layer1\.2\.conv1\.weight"):
        models.resnet34(weights=path)   # 8 more BasicBlocks of 12 tensors each
    with pytest.raises(CheckpointError, match=r"MobileNetV2: missing .* unexpected 122 key\(s\): conv1\.weight"):
        models.mobilenet_v2(weights=path)
    sd = load_safetensors(path)
    sd["conv1.weight"] = minigrad.zeros(64, 3, 5, 5)
    save_safetensors(sd, tmp_path / "bad.safetensors")
    model = models.resnet18()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"conv1\.weight has shape \(64, 3, 5, 5\) in the file"):
        load_weights(model, tmp_path / "bad.safetensors")
    for k, v in model.state_dict().items():       # all or nothing
        np.testing.assert_array_equal(v.numpy(), before[k])
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        models.lenet5(weights=tmp_path / "missing.safetensors")


def test_weights_from_a_minigrad_checkpoint(tmp_path):
    """``weights=`` also takes ``minigrad.save`` files: a state dict or a training job's checkpoint."""
    src = models.lenet5()
    minigrad.save({"model": src.state_dict(), "epoch": 1}, tmp_path / "checkpoint.mg")
    model = models.lenet5(weights=tmp_path / "checkpoint.mg")
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[k].numpy(), v.numpy())
    minigrad.save([1, 2], tmp_path / "list.mg")
    with pytest.raises(CheckpointError, match="expected a state dict"):
        read_state_dict(tmp_path / "list.mg")


def test_convert_weights_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["convert-weights", str(tmp_path / "none.pth"), str(tmp_path / "o.safetensors")]) == 2
    assert "none.pth" in capsys.readouterr().err
    torch.save({"w": torch.ones(2), "obj": Fraction(1, 3)}, tmp_path / "pickled.pth")   # not allowed by weights_only
    assert main(["convert-weights", str(tmp_path / "pickled.pth"), str(tmp_path / "o.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "weights_only=True" in err and len(err.strip().splitlines()) == 1
    torch.save([torch.ones(2)], tmp_path / "list.pth")
    assert main(["convert-weights", str(tmp_path / "list.pth"), str(tmp_path / "o.safetensors")]) == 2
    assert "expected a state dict" in capsys.readouterr().err
    assert not (tmp_path / "o.safetensors").exists()
    torch.save({"state_dict": {"module.w": torch.ones(2, dtype=torch.bfloat16)}}, tmp_path / "wrapped.pth")
    assert main(["convert-weights", str(tmp_path / "wrapped.pth"), str(tmp_path / "o.safetensors")]) == 0
    back = load_safetensors(tmp_path / "o.safetensors")
    assert list(back) == ["w"] and back["w"].dtype == minigrad.float32
