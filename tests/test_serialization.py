"""minigrad.save / minigrad.load: round trips, no pickle, atomic writes, clear errors for foreign or broken
files, map_location, checkpoints of optimizer and scheduler state, safetensors interchange."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad
from minigrad import optim, serialization
from minigrad.optim import lr_scheduler
from minigrad.serialization import CheckpointError
from helpers import wait_for_child

try:
    import torch
except ImportError:
    torch = None
try:
    import safetensors  # noqa: F401
except ImportError:
    safetensors = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
requires_safetensors = pytest.mark.skipif(safetensors is None, reason="safetensors is not installed")
requires_cuda = pytest.mark.skipif(not minigrad.is_cuda_available(), reason="no CUDA GPU (or no CuPy)")

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64"]


def assert_tensor_equal(a, b):
    assert isinstance(a, minigrad.Tensor) and isinstance(b, minigrad.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
    np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


# ---------------------------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (2, 3, 4)])
def test_tensor_dtype_and_shape_exact(dtype, shape, tmp_path):
    rng = np.random.default_rng(0)
    a = np.asarray(rng.standard_normal(shape) * 50).astype(dtype)
    t = minigrad.from_numpy(a)
    minigrad.save(t, tmp_path / "t.mg")
    back = minigrad.load(tmp_path / "t.mg")
    assert_tensor_equal(back, t)
    assert back.requires_grad is False


def test_nested_structure_round_trip(tmp_path):
    w = minigrad.randn(3, 2)
    obj = {
        "tensors": [w, minigrad.arange(5), minigrad.tensor(True)],
        "nested": {"a": {"b": (1, 2.5, None, True, "x", [w.double()])}},
        "numbers": [0, -7, 2 ** 62, 1.5, float("inf"), -float("inf"), 1e-300, False],
        "array": np.arange(12, dtype=np.int16).reshape(3, 4),
        "npscalars": [np.float32(2.5), np.int64(7), np.bool_(True)],
        "dtype": minigrad.float16,
        "int_keys": {0: "zero", 5: {"x": 1}, -1: None},
        "mixed_keys": {1: "int", "1": "str", (2, "b"): "tuple", None: "none", 2.5: "float", True: "bool"},
        "empty": [{}, [], (), ""],
        "unicode": "größe 直径 ∂",
        "tag_like_keys": {"$tensor": 0, "$items": [1], "$dict": {"$float": "inf"}},
    }
    minigrad.save(obj, tmp_path / "o.mg")
    back = minigrad.load(tmp_path / "o.mg")
    assert back.keys() == obj.keys()
    assert_tensor_equal(back["tensors"][0], w)
    assert_tensor_equal(back["tensors"][1], obj["tensors"][1])
    assert back["nested"]["a"]["b"][:5] == (1, 2.5, None, True, "x")
    assert isinstance(back["nested"]["a"]["b"], tuple)
    assert_tensor_equal(back["nested"]["a"]["b"][5][0], w.double())
    assert back["numbers"] == obj["numbers"]
    assert [type(v) for v in back["numbers"]] == [type(v) for v in obj["numbers"]]
    assert back["array"].dtype == np.int16 and isinstance(back["array"], np.ndarray)
    np.testing.assert_array_equal(back["array"], obj["array"])
    assert back["npscalars"] == obj["npscalars"]
    assert [type(v) for v in back["npscalars"]] == [np.float32, np.int64, np.bool_]
    assert back["dtype"] == minigrad.float16
    assert back["int_keys"] == obj["int_keys"]
    assert back["mixed_keys"] == obj["mixed_keys"] and list(back["mixed_keys"]) == list(obj["mixed_keys"])
    assert back["empty"] == [{}, [], (), ""] and back["unicode"] == obj["unicode"]
    assert back["tag_like_keys"] == obj["tag_like_keys"]


def test_nan_round_trips(tmp_path):
    minigrad.save({"x": float("nan"), "t": minigrad.tensor([np.nan, 1.0])}, tmp_path / "n")
    back = minigrad.load(tmp_path / "n")
    assert np.isnan(back["x"]) and np.isnan(back["t"].numpy()[0])


def test_requires_grad_kept_like_pytorch(tmp_path):
    """A tensor that requires grad comes back requiring grad (PyTorch's rule); state-dict style detached
    tensors come back plain; a non-leaf comes back as a leaf."""
    w = minigrad.randn(2, 2, requires_grad=True)
    y = w * 2
    minigrad.save({"w": w, "plain": w.detach(), "nonleaf": y}, tmp_path / "r")
    back = minigrad.load(tmp_path / "r")
    assert back["w"].requires_grad and back["w"].is_leaf and back["w"].grad is None
    assert not back["plain"].requires_grad
    assert back["nonleaf"].requires_grad and back["nonleaf"].is_leaf
    np.testing.assert_array_equal(back["nonleaf"].detach().numpy(), y.detach().numpy())


def test_same_tensor_saved_once_and_loaded_as_one_object(tmp_path):
    w = minigrad.randn(100)
    minigrad.save({"a": w, "b": [w, w]}, tmp_path / "s")
    back = minigrad.load(tmp_path / "s")
    assert back["a"] is back["b"][0] is back["b"][1]
    with zipfile.ZipFile(tmp_path / "s") as zf:
        assert len([n for n in zf.namelist() if n.endswith(".npy")]) == 1


def test_non_contiguous_and_views(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    obj = {"t": minigrad.from_numpy(a.T), "slice": minigrad.from_numpy(a[::2, 1::3]), "raw": a[:, ::-1]}
    minigrad.save(obj, tmp_path / "v")
    back = minigrad.load(tmp_path / "v")
    np.testing.assert_array_equal(back["t"].numpy(), a.T)
    np.testing.assert_array_equal(back["slice"].numpy(), a[::2, 1::3])
    np.testing.assert_array_equal(back["raw"], a[:, ::-1])
    back["t"].array[0, 0] = 99.0    # loaded arrays are writable and independent
    assert a[0, 0] == 0.0


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    minigrad.save({"x": minigrad.ones(3)}, buf)
    buf.seek(0)
    back = minigrad.load(buf)
    assert_tensor_equal(back["x"], minigrad.ones(3))
    with open(tmp_path / "f", "wb") as f:
        minigrad.save([1, 2], f)
    with open(tmp_path / "f", "rb") as f:
        assert minigrad.load(f) == [1, 2]
    assert minigrad.load(str(tmp_path / "f")) == [1, 2]


def test_unsupported_objects_raise_and_write_nothing(tmp_path):
    path = tmp_path / "u"
    with pytest.raises(TypeError, match=r"obj\['a'\]\[1\]: cannot save an object of type .*set"):
        minigrad.save({"a": [1, {2}]}, path)
    with pytest.raises(TypeError, match="dtype object"):
        minigrad.save({"a": np.array([{}, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="dict key of type object"):
        minigrad.save({object(): 1}, path)
    with pytest.raises(TypeError, match="function"):
        minigrad.save(lambda: 0, path)
    assert os.listdir(tmp_path) == []


alphabet = st.characters(blacklist_categories=("Cs",))
leaves = (st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63 - 1) | st.floats(allow_nan=False)
          | st.text(alphabet, max_size=5))
keys = st.text(alphabet, max_size=4) | st.integers(-5, 5)
values = st.recursive(leaves, lambda c: st.lists(c, max_size=3) | st.tuples(c, c)
                      | st.dictionaries(keys, c, max_size=3), max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(obj=values)
def test_random_python_structures_round_trip(obj):
    buf = io.BytesIO()
    minigrad.save(obj, buf)
    buf.seek(0)
    back = minigrad.load(buf)
    assert back == obj and repr(back) == repr(obj)   # repr: the same types (tuple vs list, int vs float)


# ---------------------------------------------------------------------------------------------- atomic writes

def test_crash_mid_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ck.mg"
    minigrad.save({"epoch": 1, "w": minigrad.ones(1000)}, path)
    old = path.read_bytes()
    real = serialization._write_archive

    def crashing(f, index, arrays):
        real(f, index, arrays)          # the whole new archive written (but not yet renamed) ...
        f.write(b"partial")
        raise KeyboardInterrupt("power cut")   # ... then the process dies

    monkeypatch.setattr(serialization, "_write_archive", crashing)
    with pytest.raises(KeyboardInterrupt):
        minigrad.save({"epoch": 2, "w": minigrad.zeros(1000)}, path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["ck.mg"], "the temporary file is removed"
    assert minigrad.load(path)["epoch"] == 1


def test_crash_inside_array_writer(tmp_path, monkeypatch):
    """A failure after some arrays were written (an OSError such as a full disk)."""
    path = tmp_path / "ck.mg"
    minigrad.save({"w": minigrad.ones(10)}, path)
    old = path.read_bytes()
    real, calls = np.lib.format.write_array, []

    def failing(fp, array, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            fp.write(b"\x00" * 10)
            raise OSError(28, "No space left on device")
        return real(fp, array, *a, **k)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(OSError, match="No space left"):
        minigrad.save({"a": minigrad.zeros(10), "b": minigrad.zeros(10), "c": minigrad.zeros(10)}, path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["ck.mg"]


def test_failed_first_write_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "_write_archive", lambda *a: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError, match="boom"):
        minigrad.save({"x": 1}, tmp_path / "new.mg")
    assert os.listdir(tmp_path) == []


def test_missing_directory_and_permissions(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        minigrad.save({"x": 1}, tmp_path / "nope" / "ck.mg")
    minigrad.save({"x": 1}, tmp_path / "ck.mg")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "ck.mg").stat().st_mode & 0o777 == 0o666 & ~umask   # like any new file


def test_deeply_nested_file_gives_clear_error(tmp_path):
    path = tmp_path / "deep.mg"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("minigrad.json", '{"format": "minigrad", "version": 1, "tensors": [], "root": '
                    + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(CheckpointError, match="deep.mg"):
        minigrad.load(path)


def test_overwrite_replaces_file(tmp_path):
    path = tmp_path / "ck"
    minigrad.save({"v": 1}, path)
    minigrad.save({"v": 2}, path)
    assert minigrad.load(path) == {"v": 2} and os.listdir(tmp_path) == ["ck"]


# ---------------------------------------------------------------------------------------------- bad files

def write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("data,what", [
    (b"", "an empty file"),
    (b"hello, this is a text file\n", "a text file"),
    (pickle.dumps({"a": 1}), "a pickle file"),
    (bytes(np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8)), "binary data"),
    (b"\x93NUMPY\x01\x00", "a bare .npy file"),
])
def test_foreign_files(tmp_path, data, what):
    path = write(tmp_path / "foreign.bin", data)
    with pytest.raises(CheckpointError, match="foreign.bin") as info:
        minigrad.load(path)
    assert what in str(info.value) and "expected a zip archive written by minigrad.save" in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_truncated_files(tmp_path):
    good = tmp_path / "good.mg"
    minigrad.save({"w": minigrad.randn(50, 50), "b": minigrad.randn(50), "meta": {"epoch": 3}}, good)
    data = good.read_bytes()
    for n in sorted({1, 3, 4, 30, 200, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 1}):
        path = write(tmp_path / "trunc.mg", data[:n])
        with pytest.raises(CheckpointError, match="trunc.mg"):
            minigrad.load(path)


def test_corrupted_array_bytes_detected(tmp_path):
    path = tmp_path / "c.mg"
    minigrad.save({"w": minigrad.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    i = data.index(b"\x93NUMPY") + 500     # a byte inside the array data
    data[i] ^= 0xFF
    write(path, bytes(data))
    with pytest.raises(CheckpointError, match="c.mg.*cannot be read"):
        minigrad.load(path)


def test_zip_without_index_and_bad_index(tmp_path):
    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(CheckpointError, match="without minigrad.json"):
        minigrad.load(path)
    for index, msg in [("not json", "index cannot be read"), (json.dumps([1]), "no format"),
                       (json.dumps({"format": "minigrad", "version": 99, "root": 1}), "newer"),
                       (json.dumps({"format": "minigrad", "version": 1, "tensors": [], "root": {"$tensor": 0}}),
                        "reference to array 0"),
                       (json.dumps({"format": "minigrad", "version": 1, "tensors": [], "root": {"$eval": "1"}}),
                        "unknown entry")]:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("minigrad.json", index)
        with pytest.raises(CheckpointError, match=msg):
            minigrad.load(path)


def test_pickled_array_inside_archive_is_refused(tmp_path):
    """A crafted archive whose .npy holds a pickled object array: loading must refuse, never unpickle."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    npy = io.BytesIO()
    np.save(npy, np.array([Payload()], dtype=object), allow_pickle=True)
    path = tmp_path / "evil.mg"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("minigrad.json", json.dumps({"format": "minigrad", "version": 1, "root": {"$ndarray": 0},
                                                 "tensors": [{"file": "tensors/0.npy", "dtype": "|O",
                                                              "shape": [1]}]}))
        zf.writestr("tensors/0.npy", npy.getvalue())
    with pytest.raises(CheckpointError, match="evil.mg.*cannot be read"):
        minigrad.load(path)
    assert not marker.exists()


def test_index_mismatch_detected(tmp_path):
    path = tmp_path / "m.mg"
    minigrad.save(minigrad.zeros(3), path)
    with zipfile.ZipFile(path) as zf:
        index = json.loads(zf.read("minigrad.json"))
        npy = zf.read("tensors/0.npy")
    index["tensors"][0]["shape"] = [4]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("minigrad.json", json.dumps(index))
        zf.writestr("tensors/0.npy", npy)
    with pytest.raises(CheckpointError, match="index says"):
        minigrad.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mg"):
        minigrad.load(tmp_path / "nope.mg")


@requires_torch
def test_torch_checkpoint_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="model.pt.*PyTorch checkpoint.*never unpickles"):
        minigrad.load(path)


@requires_safetensors
def test_safetensors_file_given_to_load(tmp_path):
    path = tmp_path / "w.safetensors"
    serialization.save_safetensors({"w": minigrad.ones(2)}, path)
    with pytest.raises(CheckpointError, match="load_safetensors"):
        minigrad.load(path)


# ---------------------------------------------------------------------------------------------- devices

def test_map_location_cpu(tmp_path):
    minigrad.save({"w": minigrad.ones(2)}, tmp_path / "d")
    for loc in ("cpu", minigrad.device("cpu"), {"cpu": "cpu"}):
        assert minigrad.load(tmp_path / "d", map_location=loc)["w"].device == "cpu"
    with pytest.raises(TypeError, match="map_location"):
        minigrad.load(tmp_path / "d", map_location=lambda storage, loc: storage)


def test_cuda_tensor_without_cuda_names_map_location(tmp_path, monkeypatch):
    minigrad.save({"w": minigrad.ones(2)}, tmp_path / "d")
    with zipfile.ZipFile(tmp_path / "d") as zf:
        index, npy = json.loads(zf.read("minigrad.json")), zf.read("tensors/0.npy")
    index["root"]["$dict"]["w"]["device"] = "cuda:0"     # as if saved from a GPU
    with zipfile.ZipFile(tmp_path / "g", "w") as zf:
        zf.writestr("minigrad.json", json.dumps(index))
        zf.writestr("tensors/0.npy", npy)
    assert minigrad.load(tmp_path / "g", map_location="cpu")["w"].device == "cpu"
    assert minigrad.load(tmp_path / "g", map_location={"cuda:0": "cpu"})["w"].device == "cpu"
    if not minigrad.is_cuda_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            minigrad.load(tmp_path / "g")


@requires_cuda
def test_map_location_cuda_round_trip(tmp_path):
    w = minigrad.randn(3, 3)
    minigrad.save({"w": w, "g": w.cuda()}, tmp_path / "c")
    back = minigrad.load(tmp_path / "c")
    assert back["w"].device == "cpu" and back["g"].device == "cuda:0"
    moved = minigrad.load(tmp_path / "c", map_location="cuda")
    assert moved["w"].device == "cuda:0"
    on_cpu = minigrad.load(tmp_path / "c", map_location="cpu")
    np.testing.assert_array_equal(on_cpu["g"].numpy(), w.numpy())


# ---------------------------------------------------------------------------------------------- checkpoints

def test_full_checkpoint_round_trip_continues_training(tmp_path):
    """{'model', 'optimizer', 'scheduler', 'epoch'} saved mid-training and resumed == uninterrupted."""
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = minigrad.tensor(rng.standard_normal((16, 2)).astype(np.float32))
    init = {"w": rng.standard_normal((4, 2)).astype(np.float32), "b": np.zeros(2, np.float32)}

    def setup(values):
        params = {k: minigrad.tensor(v, requires_grad=True) for k, v in values.items()}
        opt = optim.AdamW(params.values(), lr=0.05, amsgrad=True)
        sched = lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, 0.1, total_iters=3),
                                                lr_scheduler.MultiStepLR(opt, [2, 5], gamma=0.5)], milestones=[3])
        return params, opt, sched

    def epoch(params, opt, sched):
        for _ in range(3):
            opt.zero_grad()
            (((x @ params["w"] + params["b"]) - y) ** 2).mean().backward()
            opt.step()
        sched.step()

    straight = setup(init)
    for _ in range(8):
        epoch(*straight)

    first = setup(init)
    for _ in range(3):
        epoch(*first)
    params, opt, sched = first
    ck = {"model": {k: p.detach() for k, p in params.items()}, "optimizer": opt.state_dict(),
          "scheduler": sched.state_dict(), "epoch": 3}
    minigrad.save(ck, tmp_path / "ck.mg")

    loaded = minigrad.load(tmp_path / "ck.mg")
    assert loaded["epoch"] == 3
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    resumed = setup({k: v.numpy() for k, v in loaded["model"].items()})
    resumed[1].load_state_dict(loaded["optimizer"])
    resumed[2].load_state_dict(loaded["scheduler"])
    for _ in range(3, 8):
        epoch(*resumed)
    for k in init:
        np.testing.assert_array_equal(resumed[0][k].detach().numpy(), straight[0][k].detach().numpy())
    assert resumed[2].get_last_lr() == straight[2].get_last_lr()


# ---------------------------------------------------------------------------------------------- safetensors

def test_safetensors_round_trip(tmp_path):
    sd = {"layer.weight": minigrad.randn(3, 4), "layer.bias": minigrad.zeros(3, dtype=minigrad.float64),
          "steps": minigrad.arange(4), "mask": minigrad.tensor([True, False]),
          "t": minigrad.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3).T)}
    serialization.save_safetensors(sd, tmp_path / "m.safetensors")
    back = serialization.load_safetensors(tmp_path / "m.safetensors")
    assert back.keys() == sd.keys()
    for k in sd:
        assert_tensor_equal(back[k], sd[k])
    with pytest.raises(TypeError, match="only tensors"):
        serialization.save_safetensors({"a": 1}, tmp_path / "x.safetensors")
    with pytest.raises(CheckpointError, match="safetensors"):
        serialization.load_safetensors(write(tmp_path / "bad.safetensors", b"garbage!"))


@requires_safetensors
@requires_torch
def test_safetensors_interchange_with_torch(tmp_path):
    from safetensors.torch import load_file, save_file
    sd = {"fc.weight": minigrad.randn(5, 3), "fc.bias": minigrad.randn(5), "bn.num_batches_tracked": minigrad.tensor(7)}
    serialization.save_safetensors(sd, tmp_path / "mg.safetensors")
    tsd = load_file(str(tmp_path / "mg.safetensors"))
    for k, v in sd.items():
        assert str(tsd[k].dtype) == "torch." + v.dtype.name
        np.testing.assert_array_equal(tsd[k].numpy(), v.numpy())
    save_file({"w": torch.randn(2, 3), "i": torch.arange(3)}, str(tmp_path / "t.safetensors"))
    back = serialization.load_safetensors(tmp_path / "t.safetensors")
    ref = load_file(str(tmp_path / "t.safetensors"))
    for k in ref:
        np.testing.assert_array_equal(back[k].numpy(), ref[k].numpy())
    assert back["i"].dtype == minigrad.int64


@requires_safetensors
def test_safetensors_files_agree_with_the_package(tmp_path):
    """The format is written and parsed by minigrad; the safetensors package is the oracle both ways."""
    from safetensors.numpy import load_file, save_file
    rng = np.random.default_rng(0)
    arrays = {"a.f16": rng.standard_normal((2, 3)).astype(np.float16), "b": rng.integers(-9, 9, (4,), dtype=np.int8),
              "c.u32": np.arange(5, dtype=np.uint32), "d": np.full((), 2.5), "e": np.zeros((0, 3), np.float32)}
    serialization.save_safetensors(arrays, tmp_path / "mg.safetensors", metadata={"format": "pt"})
    theirs = load_file(str(tmp_path / "mg.safetensors"))
    save_file(arrays, str(tmp_path / "st.safetensors"), metadata={"x": "y"})
    ours = serialization.load_safetensors(tmp_path / "st.safetensors")
    for k, a in arrays.items():
        assert theirs[k].dtype == a.dtype and ours[k].dtype == a.dtype
        np.testing.assert_array_equal(theirs[k], a)
        np.testing.assert_array_equal(ours[k].numpy(), a)


def _st_file(path, header, data=b""):
    text = json.dumps(header).encode()
    return write(path, len(text).to_bytes(8, "little") + text + data)


@pytest.mark.parametrize("make, message", [
    (lambda p: write(p, b""), "too short"),
    (lambda p: write(p, (10 ** 6).to_bytes(8, "little") + b"{}"), "does not fit"),
    (lambda p: write(p, (4).to_bytes(8, "little") + b"{{{{"), "not JSON"),
    (lambda p: _st_file(p, [1, 2]), "not a JSON object"),
    (lambda p: _st_file(p, {"w": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), "entry 'w'"),
    (lambda p: _st_file(p, {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4), "outside"),
    (lambda p: _st_file(p, {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 8), "wrong size"),
    (lambda p: _st_file(p, {"v": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), "overlap"),
    (lambda p: _st_file(p, {"__metadata__": {"a": 1}}), "__metadata__"),
])
def test_malformed_safetensors_are_refused_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.safetensors"
    make(path)
    with pytest.raises(CheckpointError, match=message) as info:
        serialization.load_safetensors(path)
    assert "bad.safetensors" in str(info.value)


def test_safetensors_save_is_atomic_and_checks_before_writing(tmp_path):
    path = tmp_path / "w.safetensors"
    serialization.save_safetensors({"w": minigrad.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="complex64"):
        serialization.save_safetensors({"a": minigrad.ones(3), "z": np.ones(2, np.complex64)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        serialization.load_safetensors(tmp_path / "missing.safetensors")


def test_parameters_and_module_state_dict(tmp_path):
    """An nn.Parameter comes back as a Parameter; a Module's state_dict (an OrderedDict, BatchNorm buffers
    included) round-trips and loads into a fresh module."""
    nn = minigrad.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m(minigrad.randn(5, 3))     # move the running statistics
    minigrad.save({"p": m[0].weight, "sd": m.state_dict()}, tmp_path / "m.mg")
    back = minigrad.load(tmp_path / "m.mg")
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert list(back["sd"]) == list(m.state_dict())
    assert back["sd"]["1.num_batches_tracked"].dtype == minigrad.int64
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    fresh.load_state_dict(back["sd"])
    for k, v in m.state_dict().items():
        assert_tensor_equal(fresh.state_dict()[k], v)


# ---------------------------------------------------------------------------------------------- hostile files

def small_checkpoint():
    """A real checkpoint of a small model and its Adam state after one step (about 6 KB)."""
    from minigrad import nn
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters())
    model(minigrad.randn(5, 3)).sum().backward()
    opt.step()
    buf = io.BytesIO()
    minigrad.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, buf)
    return buf.getvalue()


def canonical(obj):
    """A comparable form of a loaded object: arrays as (type, dtype, shape, bytes), containers recursively."""
    if isinstance(obj, minigrad.Tensor):
        a = obj.detach().cpu().numpy()
        return ("tensor", a.dtype.str, a.shape, a.tobytes(), obj.requires_grad)
    if isinstance(obj, (np.ndarray, np.generic)):
        return (type(obj).__name__, obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, dict):
        return ("dict", [(repr(k), canonical(v)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [canonical(v) for v in obj])
    return (type(obj).__name__, repr(obj))


@pytest.mark.timeout(60)          # the bound for CI; about 10 s on a loaded 2-core machine
def test_fuzz_truncations_and_bit_flips():
    """2,100 seeded truncations, single-bit flips and overwritten bytes of a real checkpoint: each one loads
    exactly the saved content or raises CheckpointError naming the file; nothing else gets out, nothing
    hangs (the time limit above), and memory stays bounded: every tenth case runs under tracemalloc (all of
    them would take five times as long) and none may allocate more than a few MiB, whatever size a damaged
    header claims."""
    import tracemalloc
    data = small_checkpoint()
    expected = canonical(minigrad.load(io.BytesIO(data)))
    rng = np.random.default_rng(1234)
    outcomes, peak = {"loaded": 0, "refused": 0}, 0
    for k in range(2100):
        d = bytearray(data)
        if k % 3 == 0:
            d = d[:rng.integers(0, len(d))]
        elif k % 3 == 1:
            d[rng.integers(0, len(d))] ^= 1 << int(rng.integers(0, 8))
        else:
            d[rng.integers(0, len(d))] = rng.integers(0, 256)
        f = io.BytesIO(bytes(d))
        f.name = f"fuzz-{k}.mg"
        if k % 10 == 0:
            tracemalloc.start()
        try:
            back = minigrad.load(f)
        except CheckpointError as e:
            assert f"fuzz-{k}.mg" in str(e)
            outcomes["refused"] += 1
        else:
            assert canonical(back) == expected, f"case {k} loaded different content"
            outcomes["loaded"] += 1
        finally:
            if tracemalloc.is_tracing():
                peak = max(peak, tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
    assert peak < 8 * 2 ** 20, f"a damaged {len(data)}-byte checkpoint made load allocate {peak} bytes"
    # most damage is caught; flips in fields the reader ignores (timestamps, ...) load the same content
    assert outcomes["refused"] > 1500 and outcomes["loaded"] > 0


def rewrite_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, payload in members:
            zf.writestr(name, payload)


def npy_bytes(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=False)
    return buf.getvalue()


def index_for(root, tensors):
    return json.dumps({"format": "minigrad", "version": 1, "tensors": tensors, "root": root})


@pytest.mark.parametrize("root,msg", [
    ({"$tensor": [1]}, r"reference to array \[1\], but the file holds 1"),
    ({"$tensor": {"a": 0}}, r"reference to array \{'a': 0\}"),
    ({"$ndarray": [0]}, r"reference to array \[0\]"),
    ({"$items": [[[1, 2], "v"]]}, r"a dict key is a list \(\[1, 2\]\)"),
    ({"$items": [[{"$ndarray": 0}, "v"]]}, r"a dict key is a ndarray"),
    ({"$npscalar": 0}, r"a NumPy scalar refers to array 0 of shape \[3\]"),
    ({"$tensor": 0, "device": "gpu7"}, r"a tensor's device is 'gpu7'"),
])
def test_malformed_index_entries_raise_checkpoint_error(tmp_path, root, msg):
    path = tmp_path / "bad.mg"
    rewrite_zip(path, [("minigrad.json", index_for(root, [{"file": "tensors/0.npy", "dtype": "<f4",
                                                           "shape": [3]}])),
                       ("tensors/0.npy", npy_bytes(np.zeros(3, np.float32)))])
    with pytest.raises(CheckpointError, match=r"bad\.mg.*" + msg):
        minigrad.load(path)


def good_members():
    return [("minigrad.json", index_for({"$ndarray": 0}, [{"file": "tensors/0.npy", "dtype": "<f4",
                                                          "shape": [3]}])),
            ("tensors/0.npy", npy_bytes(np.arange(3, dtype=np.float32)))]


def one_array_file(path, npy, dtype, shape, compression=zipfile.ZIP_STORED):
    rewrite_zip(path, [("minigrad.json", index_for({"$ndarray": 0}, [{"file": "tensors/0.npy", "dtype": dtype,
                                                                     "shape": shape}])),
                       ("tensors/0.npy", npy)], compression=compression)


def refused_with_peak(path, match):
    """Load ``path``, expect CheckpointError matching ``match``; return the traced peak memory in bytes."""
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=match):
            minigrad.load(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_compressed_members_are_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.mg"
    big = 64 * 2 ** 20   # 64 MiB of zeros deflate to about 64 KB
    one_array_file(path, npy_bytes(np.zeros(big, np.uint8)), "|u1", [big], compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2 ** 20
    assert refused_with_peak(path, r"bomb\.mg.*'minigrad\.json' is compressed.*expected a stored") < 2 ** 20


def test_huge_shape_header_refused_before_allocation(tmp_path):
    path = tmp_path / "huge.mg"
    header = io.BytesIO()                    # a .npy header claiming 10**18 floats, followed by 3 of them
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 18,)})
    one_array_file(path, header.getvalue() + np.zeros(3, np.float32).tobytes(), "<f4", [10 ** 18])
    assert refused_with_peak(path, r"huge\.mg.*header says shape \[1000000000000000000\] of float32 "
                                   r"\(4000000000000000000 bytes\), but the member holds 12 bytes") < 2 ** 20


def test_member_size_must_match_header(tmp_path):
    path = tmp_path / "short.mg"
    one_array_file(path, npy_bytes(np.zeros(4, np.float32))[:-4], "<f4", [4])   # header: 4 floats; data: 3
    assert refused_with_peak(path, r"short\.mg.*shape \[4\] of float32 \(16 bytes\), but the member holds 12 bytes") \
        < 2 ** 20


def test_duplicate_member_names_are_refused(tmp_path):
    path = tmp_path / "dup.mg"
    members = good_members()
    with pytest.warns(UserWarning, match="Duplicate name"):
        rewrite_zip(path, members + [("tensors/0.npy", npy_bytes(np.ones(3, np.float32)))])
    with pytest.raises(CheckpointError, match=r"dup\.mg.*'tensors/0\.npy' appears twice"):
        minigrad.load(path)


@pytest.mark.parametrize("entry,offset,patch,msg", [
    # central-directory entry 0 (the index), general-purpose flags: encrypted + strong encryption
    (0, 8, b"\x41\x00", r"'minigrad\.json' is encrypted or patched"),
    # entry 1 (the array), compressed and uncompressed sizes both 2**31
    (1, 20, (2 ** 31).to_bytes(4, "little") * 2, r"'tensors/0\.npy' claims 2147483648 bytes.*but the file holds"),
])
def test_central_directory_lies_are_refused(tmp_path, entry, offset, patch, msg):
    path = tmp_path / "lies.mg"
    rewrite_zip(path, good_members())
    data = bytearray(path.read_bytes())
    cd = [i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)][entry]
    data[cd + offset:cd + offset + len(patch)] = patch
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"lies\.mg.*" + msg):
        minigrad.load(path)


def test_killed_save_leaves_tmp_that_the_next_save_removes(tmp_path):
    import signal
    import subprocess
    import sys
    path = tmp_path / "ck.mg"
    minigrad.save({"epoch": 1}, path)
    old = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, minigrad\n"
        "from minigrad import serialization\n"
        "real = serialization._write_archive\n"
        "def slow(f, index, arrays):\n"
        "    real(f, index, arrays); f.flush(); print('written', flush=True); time.sleep(60)\n"
        "serialization._write_archive = slow\n"
        f"minigrad.save({{'epoch': 2, 'w': minigrad.ones(100)}}, {str(path)!r})\n")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert child.stdout.readline() == "written\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    stale = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(stale) == 1 and stale[0].startswith(f".ck.mg.{child.pid}.")
    assert path.read_bytes() == old                    # the kill did not touch the checkpoint
    live = tmp_path / f".ck.mg.{os.getppid()}.0123abcd.tmp"   # a live process's save in progress
    live.write_bytes(b"in progress")
    other = tmp_path / f".other.mg.{child.pid}.0123abcd.tmp"  # a stale file of another path
    other.write_bytes(b"x")
    minigrad.save({"epoch": 3}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["ck.mg", live.name, other.name])
    assert minigrad.load(path) == {"epoch": 3}


def save_like_open(path):
    """Save over ``path``; return what open(path, 'ab') and minigrad.save each raised (None: nothing)."""
    try:
        open(path, "ab").close()
        expected = None
    except OSError as e:
        expected = (type(e), e.errno, e.filename)
    try:
        minigrad.save({"v": 2}, path)
        got = None
    except OSError as e:
        got = (type(e), e.errno, e.filename)
    return expected, got


def test_saving_over_a_read_only_file_fails_like_open(tmp_path):
    """A read-only checkpoint is replaced only when open() could write it: as an ordinary user, save raises
    open()'s PermissionError naming the file and leaves it unchanged; root may write it, as with open().
    Under root the refusal is checked in a forked child running as nobody."""
    path = tmp_path / "ro.mg"
    minigrad.save({"v": 1}, path)
    path.chmod(0o444)
    if os.geteuid() != 0:
        before = path.read_bytes()
        expected, got = save_like_open(path)
        assert expected is not None and got == expected and got[0] is PermissionError and got[2] == str(path)
        assert path.read_bytes() == before
        return
    assert save_like_open(path) == (None, None) and minigrad.load(path) == {"v": 2}   # root, like open()
    import shutil
    import tempfile
    shared = tempfile.mkdtemp()       # pytest's tmp_path sits in a folder only root may enter
    try:
        check_read_only_as_nobody(os.path.join(shared, "ro.mg"))
    finally:
        shutil.rmtree(shared)


def check_read_only_as_nobody(path):
    directory = os.path.dirname(path)
    os.chmod(directory, 0o777)        # nobody may create the temporary file, but not write the checkpoint
    minigrad.save({"v": 1}, path)
    os.chmod(path, 0o444)
    with open(path, "rb") as f:
        before = f.read()
    pid = os.fork()
    if pid == 0:                      # the child: drop to nobody, report through the exit status
        code = 1
        try:
            os.setuid(65534)
            expected, got = save_like_open(str(path))
            code = 0 if (expected is not None and got == expected and got[0] is PermissionError) else 2
        finally:
            os._exit(code)
    assert wait_for_child(pid) == 0
    with open(path, "rb") as f:
        assert f.read() == before
    assert os.listdir(directory) == ["ro.mg"]
