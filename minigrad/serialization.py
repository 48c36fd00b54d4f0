"""``minigrad.save`` / ``minigrad.load``: checkpoints without pickle, written atomically.

File format (version 1). A checkpoint is an uncompressed zip archive holding
- ``minigrad.json``: ``{"format": "minigrad", "version": 1, "tensors": [...], "root": ...}``. ``tensors``
  describes each stored array (``{"file": "tensors/3.npy", "dtype": "float32", "shape": [2, 3]}``);
  ``root`` is the saved object written as JSON in which everything that JSON cannot say exactly is a
  one-key object with a ``$`` tag:
  ``{"$tensor": i, "requires_grad": b, "device": "cuda:0"}`` (plus ``"parameter": true`` for an
  ``nn.Parameter``), ``{"$ndarray": i}``, ``{"$npscalar": i}``, ``{"$tuple": [...]}``, ``{"$dict": {...}}``
  (string keys), ``{"$items": [[key, value], ...]}`` (other keys: ints, floats, bools, None, tuples),
  ``{"$float": "inf" | "-inf" | "nan"}``, ``{"$dtype": "float32"}``. Lists, strings, ints, finite floats,
  bools and None are plain JSON.
- ``tensors/<i>.npy``: one raw ``.npy`` per array, read back with ``allow_pickle=False``.

So loading runs no code from the file: JSON is parsed, arrays are read as plain numbers, and anything the
reader does not recognise is an error that names the file. Only those types can be saved (a dict subclass
such as ``Counter`` or ``OrderedDict`` is saved as a plain dict); anything else raises ``TypeError`` naming
where in the object it sits.

Writes go to a temporary file in the target's directory, which is flushed, fsynced and then renamed over
the target with ``os.replace``: a crash mid-write leaves the old file as it was.

Tensors come back with their dtype, shape and ``requires_grad`` (PyTorch's rule: a saved tensor that
required grad still does; ``state_dict()`` values are detached, so they come back plain) and on the device
they were saved from, unless ``map_location`` (``'cpu'``, ``'cuda'``, a Device, or a dict such as
``{'cuda:0': 'cpu'}``) says otherwise. The same Tensor object saved twice loads as one object; views
sharing memory load as separate tensors. Raw NumPy arrays come back as NumPy arrays.

``save_safetensors`` / ``load_safetensors`` read and write flat ``{name: tensor}`` dicts in the
safetensors format (the optional ``safetensors`` package) for exchange with PyTorch and others.
"""
from __future__ import annotations

import io
import json
import math
import os
import secrets
import zipfile

import numpy as np

from . import backend
from .tensor import Tensor

FORMAT = "minigrad"
VERSION = 1
_INDEX = "minigrad.json"
_ZIP_MAGIC = b"PK\x03\x04"

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError"]


class CheckpointError(RuntimeError):
    """A file is not a readable minigrad checkpoint (truncated, corrupt, or another format)."""


# ---------------------------------------------------------------------------------------------- writing

class _Encoder:
    def __init__(self):
        self.arrays = []        # NumPy arrays, in file order
        self.memo = {}          # id(Tensor) -> index, so a tensor saved twice is stored once

    def _array(self, a, where):
        a = backend.to_numpy(a)
        if a.dtype.hasobject or a.dtype.kind not in "biufc":
            raise TypeError(f"{where}: cannot save an array of dtype {a.dtype} (only bool, integer, float and "
                            f"complex arrays are stored; nothing is pickled)")
        self.arrays.append(a)
        return len(self.arrays) - 1

    def encode(self, obj, where="obj"):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"$float": repr(float(obj))}
        if isinstance(obj, Tensor):
            key = id(obj)
            if key not in self.memo:
                self.memo[key] = self._array(obj.array, where)
            out = {"$tensor": self.memo[key], "requires_grad": bool(obj.requires_grad), "device": str(obj.device)}
            if type(obj).__name__ == "Parameter":
                out["parameter"] = True
            return out
        if isinstance(obj, np.ndarray) or backend.is_cupy_array(obj):
            return {"$ndarray": self._array(obj, where)}
        if isinstance(obj, np.generic):
            return {"$npscalar": self._array(np.asarray(obj), where)}
        if isinstance(obj, np.dtype):
            return {"$dtype": obj.name}
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj):
                return {"$dict": {k: self.encode(v, f"{where}[{k!r}]") for k, v in obj.items()}}
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str, tuple))):
                    raise TypeError(f"{where}: cannot save a dict key of type {type(k).__name__} ({k!r}); keys "
                                    f"must be str, int, float, bool, None or tuples of those")
                items.append([self.encode(k, f"{where} key {k!r}"), self.encode(v, f"{where}[{k!r}]")])
            return {"$items": items}
        raise TypeError(f"{where}: cannot save an object of type {type(obj).__module__}.{type(obj).__qualname__}; "
                        f"minigrad.save stores (nested dicts, lists and tuples of) Tensors, NumPy arrays, ints, "
                        f"floats, bools, None and strings, without pickle")


def _write_archive(f, index, arrays):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(_INDEX, json.dumps(index, allow_nan=False))
        for i, a in enumerate(arrays):
            with zf.open(f"tensors/{i}.npy", "w", force_zip64=a.nbytes > 2 ** 30) as out:
                np.lib.format.write_array(out, a, allow_pickle=False)


def _atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: the directory {directory!r} does not exist")
    # os.open with mode 0o666 lets the umask decide the permissions, as for an ordinary new file
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (best effort: not every platform can open a directory)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj, f):
    """Save ``obj`` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings) to the path ``f``
    atomically, or to a writable binary file object. No pickle: see the module docstring for the format."""
    enc = _Encoder()
    root = enc.encode(obj)
    index = {"format": FORMAT, "version": VERSION,
             "tensors": [{"file": f"tensors/{i}.npy", "dtype": a.dtype.str, "shape": list(a.shape)}
                         for i, a in enumerate(enc.arrays)],
             "root": root}
    if hasattr(f, "write"):
        _write_archive(f, index, enc.arrays)
    else:
        _atomic_write(f, lambda fobj: _write_archive(fobj, index, enc.arrays))


# ---------------------------------------------------------------------------------------------- reading

def _describe(head):
    """A guess at what a non-checkpoint file is, from its first bytes."""
    if not head:
        return "an empty file"
    if head[:1] == b"\x80" and len(head) > 1 and head[1:2] in b"\x02\x03\x04\x05":
        return "a pickle file (minigrad.load never unpickles; a legacy torch.save file is a pickle)"
    if head.startswith(b"\x93NUMPY"):
        return "a bare .npy file (use numpy.load)"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file"
    if len(head) > 8 and head[8:9] == b"{":
        return "a safetensors file (read it with minigrad.serialization.load_safetensors)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"binary data starting with {head[:8]!r}"
    return f"a text file starting with {text[:20]!r}"


class _Decoder:
    def __init__(self, name, zf, index, map_location):
        self.name, self.zf, self.map_location = name, zf, map_location
        self.tensors = index.get("tensors")
        if not isinstance(self.tensors, list):
            raise self.error("its index has no list of tensors")
        self.arrays = {}
        self.memo = {}

    def error(self, what):
        return CheckpointError(f"{self.name}: not a valid minigrad checkpoint: {what}")

    def array(self, i):
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self.tensors):
            raise self.error(f"reference to array {i!r}, but the file holds {len(self.tensors)}")
        if i not in self.arrays:
            meta = self.tensors[i]
            try:
                with self.zf.open(meta["file"]) as member:
                    a = np.lib.format.read_array(member, allow_pickle=False)
            except (KeyError, TypeError) as e:
                raise self.error(f"array {i} is missing ({e})") from None
            except (ValueError, zipfile.BadZipFile, OSError, EOFError) as e:
                raise self.error(f"array {i} ({meta.get('file')}) cannot be read: {e}") from None
            if a.dtype.str != meta.get("dtype") or list(a.shape) != meta.get("shape"):
                raise self.error(f"array {i} has dtype {a.dtype.str} and shape {list(a.shape)}, but the index "
                                 f"says {meta.get('dtype')} and {meta.get('shape')}")
            self.arrays[i] = a
        return self.arrays[i]

    def device_for(self, saved):
        loc = self.map_location
        if isinstance(loc, dict):
            loc = loc.get(saved, saved)
        elif callable(loc) and not isinstance(loc, (str, backend.Device)):
            raise TypeError("map_location must be None, a device (str or minigrad.Device) or a dict of devices")
        target = saved if loc is None else str(loc)
        dev = backend.Device(target)
        if dev.type == "cuda" and not backend.is_cuda_available():
            raise RuntimeError(f"{self.name}: a tensor was saved on {saved}, but CUDA is not available here; "
                               f"pass map_location='cpu' to load it on the CPU")
        return dev

    def decode(self, obj):
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, list):
            return [self.decode(v) for v in obj]
        if not isinstance(obj, dict) or len(obj) == 0:
            raise self.error(f"unexpected JSON value {obj!r}")
        tag = next(iter(obj))
        body = obj[tag]
        if tag == "$tensor":
            return self.tensor(obj)
        if tag == "$ndarray":
            return self.array(body)
        if tag == "$npscalar":
            return self.array(body)[()]
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self.decode(v) for v in body)
        if tag == "$dict" and isinstance(body, dict):
            return {k: self.decode(v) for k, v in body.items()}
        if tag == "$items" and isinstance(body, list):
            out = {}
            for item in body:
                if not (isinstance(item, list) and len(item) == 2):
                    raise self.error(f"bad dict item {item!r}")
                out[self.decode(item[0])] = self.decode(item[1])
            return out
        if tag == "$float" and body in ("inf", "-inf", "nan"):
            return float(body)
        if tag == "$dtype" and isinstance(body, str):
            try:
                return np.dtype(body)
            except TypeError:
                raise self.error(f"unknown dtype {body!r}") from None
        raise self.error(f"unknown entry {tag!r}")

    def tensor(self, obj):
        i = obj["$tensor"]
        if i in self.memo:
            return self.memo[i]
        a = self.array(i)
        dev = self.device_for(obj.get("device", "cpu"))
        arr = backend.to_device(a, dev)
        requires_grad = bool(obj.get("requires_grad", False)) and arr.dtype.kind == "f"
        if obj.get("parameter"):
            from .nn import Parameter
            t = Parameter(Tensor._wrap(arr), requires_grad=requires_grad)
        else:
            t = Tensor._wrap(arr, requires_grad)
        self.memo[i] = t
        return t


def _open_archive(f, name):
    """The zip archive in ``f`` (a path or file object); clear errors for anything else."""
    if hasattr(f, "read"):
        data = f.read()
        head, fileobj = data[:16], io.BytesIO(data)
    else:
        if not os.path.exists(f):
            raise FileNotFoundError(f"{name}: no such file")
        with open(f, "rb") as fh:
            head = fh.read(16)
        fileobj = f
    if not head.startswith(_ZIP_MAGIC):
        raise CheckpointError(f"{name}: not a minigrad checkpoint (expected a zip archive written by "
                              f"minigrad.save, found {_describe(head)})")
    try:
        zf = zipfile.ZipFile(fileobj)
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"{name}: the minigrad checkpoint is truncated or corrupt ({e}); expected a "
                              f"complete zip archive written by minigrad.save") from None
    names = set(zf.namelist())
    if _INDEX not in names:
        zf.close()
        if any(n.endswith("data.pkl") for n in names):
            raise CheckpointError(f"{name}: this is a PyTorch checkpoint (torch.save), which is pickled; "
                                  f"minigrad.load never unpickles. Export it with safetensors and use "
                                  f"minigrad.serialization.load_safetensors")
        raise CheckpointError(f"{name}: not a minigrad checkpoint (a zip archive without {_INDEX})")
    return zf


def load(f, map_location=None):
    """Load an object saved by ``minigrad.save`` from a path or binary file object; tensors go to
    ``map_location`` if given. Raises ``CheckpointError`` (a RuntimeError) naming the file when the file is
    truncated, corrupt or not a minigrad checkpoint; never unpickles."""
    name = getattr(f, "name", None) if hasattr(f, "read") else os.fspath(f)
    name = repr(name) if name is not None else "<file object>"
    zf = _open_archive(f, name)
    with zf:
        try:
            index = json.loads(zf.read(_INDEX).decode("utf-8"))
        except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, ValueError, RecursionError) as e:
            raise CheckpointError(f"{name}: the minigrad checkpoint's index cannot be read ({e}); the file is "
                                  f"truncated or corrupt") from None
        if not isinstance(index, dict) or index.get("format") != FORMAT or "root" not in index:
            raise CheckpointError(f"{name}: not a minigrad checkpoint (its index has no format 'minigrad')")
        if not isinstance(index.get("version"), int) or index["version"] > VERSION:
            raise CheckpointError(f"{name}: checkpoint format version {index.get('version')!r} is newer than this "
                                  f"minigrad reads (version {VERSION}); upgrade minigrad")
        try:
            return _Decoder(name, zf, index, map_location).decode(index["root"])
        except RecursionError:
            raise CheckpointError(f"{name}: the checkpoint is nested too deeply to read") from None


# ---------------------------------------------------------------------------------------------- safetensors

def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("safetensors is not installed: `pip install safetensors` (or minigrad[dev]) to read "
                          "and write .safetensors files") from None
    return safetensors.numpy


def save_safetensors(state_dict, path, metadata=None):
    """Write a flat ``{name: Tensor or array}`` dict as a .safetensors file (atomically)."""
    st = _safetensors_numpy()
    arrays = {}
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(f"safetensors keys must be strings, got {k!r}")
        if isinstance(v, Tensor):
            v = v.array
        if not (isinstance(v, np.ndarray) or backend.is_cupy_array(v)):
            raise TypeError(f"[{k!r}]: safetensors stores only tensors, got {type(v).__name__} (use minigrad.save "
                            f"for checkpoints with other values)")
        arrays[k] = np.ascontiguousarray(backend.to_numpy(v))
    data = st.save(arrays, metadata=metadata)
    _atomic_write(path, lambda f: f.write(data))


def load_safetensors(path, device="cpu"):
    """Read a .safetensors file into a ``{name: Tensor}`` dict on ``device``."""
    st = _safetensors_numpy()
    name = os.fspath(path)
    with open(name, "rb") as fh:
        data = fh.read()
    try:
        arrays = st.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError (a plain Exception)
        raise CheckpointError(f"{name!r}: not a readable safetensors file ({e})") from None
    dev = backend.device(device)
    return {k: Tensor._wrap(backend.to_device(a, dev)) for k, a in arrays.items()}
