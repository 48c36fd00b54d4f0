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

Writes go to a temporary file in the target's directory (``.NAME.PID.HEX.tmp``), which is flushed, fsynced
and then renamed over the target with ``os.replace``: a crash mid-write leaves the old file as it was, and
the next save to the same path removes the temporary file a killed process left. Saving over a file that
``open(path, "wb")`` could not write fails the same way (a read-only file is not silently replaced).
Archives are written with stored (uncompressed) members only, and ``load`` refuses anything else.

Tensors come back with their dtype, shape and ``requires_grad`` (PyTorch's rule: a saved tensor that
required grad still does; ``state_dict()`` values are detached, so they come back plain) and on the device
they were saved from, unless ``map_location`` (``'cpu'``, ``'cuda'``, a Device, or a dict such as
``{'cuda:0': 'cpu'}``) says otherwise. The same Tensor object saved twice loads as one object; views
sharing memory load as separate tensors. Raw NumPy arrays come back as NumPy arrays.

``save_safetensors`` / ``load_safetensors`` read and write flat ``{name: tensor}`` dicts in the
safetensors format (written and parsed here: the ``safetensors`` package is not needed) for exchange with
PyTorch and others.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import secrets
import struct
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


def _remove_stale_tmp(directory, base):
    """Remove the temporary files that saves to ``base`` killed mid-write left (``.base.PID.HEX.tmp`` whose
    process is gone; a live process's file, possibly being written now, is left alone)."""
    pattern = re.compile(rf"\.{re.escape(base)}\.(\d+)\.[0-9a-f]{{8}}\.tmp")
    try:
        entries = os.listdir(directory)
    except OSError:                     # a folder we may write but not list: nothing to clean
        return
    for entry in entries:
        m = pattern.fullmatch(entry)
        if m is None or os.name != "posix":
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue                    # alive (or reused by another process: left, to be safe)
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError):
            continue
        try:
            os.unlink(os.path.join(directory, entry))
        except OSError:
            pass


def _atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: the directory {directory!r} does not exist")
    if os.path.isfile(path):
        # os.replace would happily rename over a read-only file: fail as open(path, "wb") would (root may write)
        os.close(os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0)))
    _remove_stale_tmp(directory, os.path.basename(path))
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


# zip general-purpose flags a checkpoint never has: encrypted, "patched data", strong encryption
_REFUSED_FLAGS = 0x1 | 0x20 | 0x40
# what the zip reader raises on a damaged archive (struct.error and NotImplementedError come from headers
# whose fields were overwritten; UnicodeDecodeError from a name flagged UTF-8 that is not)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
               struct.error, OverflowError)
_CHUNK = 1 << 24


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

    def check_index(self, i):
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self.tensors):
            raise self.error(f"reference to array {i!r}, but the file holds {len(self.tensors)}")

    def array(self, i):
        self.check_index(i)
        if i not in self.arrays:
            meta = self.tensors[i]
            if not (isinstance(meta, dict) and isinstance(meta.get("file"), str)):
                raise self.error(f"array {i}: the index entry {meta!r} has no file name")
            try:
                info = self.zf.getinfo(meta["file"])
            except KeyError:
                raise self.error(f"array {i} is missing ({meta['file']!r} is not in the archive)") from None
            try:
                with self.zf.open(info) as member:
                    self.arrays[i] = self.read_npy(member, i, meta, info)
            except CheckpointError:
                raise
            except _ZIP_ERRORS as e:
                raise self.error(f"array {i} ({meta['file']}) cannot be read: {e}") from None
        return self.arrays[i]

    def read_npy(self, member, i, meta, info):
        """One .npy member, its header checked against the index and the member's size before the array
        is allocated (a header claiming 10**18 elements is refused, not attempted)."""
        fmt = np.lib.format
        version = fmt.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f".npy format version {version} (minigrad.save writes 1.0 or 2.0)")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(member)
        if dtype.hasobject or dtype.kind not in "biufc":
            raise ValueError(f"dtype {dtype} is not a plain number type (object arrays are never unpickled)")
        if dtype.str != meta.get("dtype") or list(shape) != meta.get("shape"):
            raise self.error(f"array {i} has dtype {dtype.str} and shape {list(shape)}, but the index says "
                             f"{meta.get('dtype')} and {meta.get('shape')}")
        count = math.prod(shape)
        if any(n < 0 for n in shape):
            raise ValueError(f"negative dimension in shape {shape}")
        held = info.file_size - member.tell()
        if count * dtype.itemsize != held:
            raise self.error(f"array {i} ({meta['file']}): its header says shape {list(shape)} of {dtype} "
                             f"({count * dtype.itemsize} bytes), but the member holds {held} bytes of data")
        flat = np.empty(count, dtype)
        raw, pos = flat.view(np.uint8), 0
        while pos < raw.size:
            chunk = member.read(min(_CHUNK, raw.size - pos))
            if not chunk:
                raise EOFError(f"the data ends after {pos} of {raw.size} bytes")
            raw[pos:pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
            pos += len(chunk)
        if member.read(1):      # also where the reader checks the CRC of a member read to its end
            raise ValueError("bytes after the array data")
        return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)

    def device_for(self, saved):
        try:
            saved = str(backend.Device(saved))
        except (TypeError, ValueError) as e:
            raise self.error(f"a tensor's device is {saved!r} ({e})") from None
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
            a = self.array(body)
            if a.ndim != 0:
                raise self.error(f"a NumPy scalar refers to array {body} of shape {list(a.shape)}")
            return a[()]
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self.decode(v) for v in body)
        if tag == "$dict" and isinstance(body, dict):
            return {k: self.decode(v) for k, v in body.items()}
        if tag == "$items" and isinstance(body, list):
            out = {}
            for item in body:
                if not (isinstance(item, list) and len(item) == 2):
                    raise self.error(f"bad dict item {item!r}")
                key = self.decode(item[0])
                try:
                    hash(key)
                except TypeError:
                    raise self.error(f"a dict key is a {type(key).__name__} ({item[0]!r}), which cannot be a "
                                     f"key") from None
                out[key] = self.decode(item[1])
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
        self.check_index(i)
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


def _check_members(zf, name, size):
    """Refuse, before anything is read, members that minigrad.save never writes: duplicates, encrypted or
    compressed members (a small file could inflate to gigabytes), and sizes larger than the file."""
    seen = set()
    for info in zf.infolist():
        member = f"{name}: not a valid minigrad checkpoint: member {info.filename!r}"
        if info.filename in seen:
            raise CheckpointError(f"{member} appears twice (minigrad.save writes each name once)")
        seen.add(info.filename)
        if info.flag_bits & _REFUSED_FLAGS:
            raise CheckpointError(f"{member} is encrypted or patched (zip flags {info.flag_bits:#06x}); "
                                  f"minigrad.save writes plain members")
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"{member} is compressed (zip method {info.compress_type}); expected a stored "
                                  f"(uncompressed) member as minigrad.save writes")
        if info.file_size != info.compress_size or info.header_offset + info.compress_size > size:
            raise CheckpointError(f"{member} claims {info.file_size} bytes ({info.compress_size} stored at "
                                  f"offset {info.header_offset}), but the file holds {size} bytes")


def _open_archive(fileobj, name):
    """The zip archive in the binary file object ``fileobj``; clear errors for anything else."""
    head = fileobj.read(16)
    if not head.startswith(_ZIP_MAGIC):
        raise CheckpointError(f"{name}: not a minigrad checkpoint (expected a zip archive written by "
                              f"minigrad.save, found {_describe(head)})")
    size = fileobj.seek(0, os.SEEK_END)
    fileobj.seek(0)
    try:
        zf = zipfile.ZipFile(fileobj)
    except _ZIP_ERRORS as e:
        raise CheckpointError(f"{name}: the minigrad checkpoint is truncated or corrupt ({e}); expected a "
                              f"complete zip archive written by minigrad.save") from None
    try:
        _check_members(zf, name, size)
        names = set(zf.namelist())
        if _INDEX not in names:
            if any(n.endswith("data.pkl") for n in names):
                raise CheckpointError(f"{name}: this is a PyTorch checkpoint (torch.save), which is pickled; "
                                      f"minigrad.load never unpickles. Export it with safetensors and use "
                                      f"minigrad.serialization.load_safetensors")
            raise CheckpointError(f"{name}: not a minigrad checkpoint (a zip archive without {_INDEX})")
    except BaseException:
        zf.close()
        raise
    return zf


def load(f, map_location=None):
    """Load an object saved by ``minigrad.save`` from a path or binary file object; tensors go to
    ``map_location`` if given. Raises ``CheckpointError`` (a RuntimeError) naming the file when the file is
    truncated, corrupt or not a minigrad checkpoint; never unpickles. Every member is checked before it is
    read: stored (not compressed), named once, no larger than the file, and each array's size agrees with
    its .npy header before the array is allocated, so a damaged file costs at most its own size in memory."""
    if hasattr(f, "read"):
        name = getattr(f, "name", None)
        name = repr(name) if name is not None else "<file object>"
        fileobj = io.BytesIO(f.read())
    else:
        name = repr(os.fspath(f))
        if not os.path.exists(f):
            raise FileNotFoundError(f"{name}: no such file")
        fileobj = open(f, "rb")
    with fileobj, _open_archive(fileobj, name) as zf:
        try:
            index = json.loads(zf.read(_INDEX).decode("utf-8"))
        except (*_ZIP_ERRORS, UnicodeDecodeError, RecursionError) as e:
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
# The format: an 8-byte little-endian header length N, N bytes of JSON (padded with spaces), then the raw
# little-endian bytes of every tensor. The header maps each name to {"dtype", "shape", "data_offsets":
# [begin, end]} (offsets into the bytes after the header); "__metadata__" is an optional {str: str}.

_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
              "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}
_ST_MAX_HEADER = 100 * 2 ** 20


def save_safetensors(state_dict, path, metadata=None):
    """Write a flat ``{name: Tensor or array}`` dict as a .safetensors file (atomically), readable by the
    ``safetensors`` package and PyTorch; ``metadata`` is an optional ``{str: str}`` dict."""
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata must be a dict of str to str")
    header, chunks, offset = {}, [], 0
    for k, v in state_dict.items():
        if not isinstance(k, str) or k == "__metadata__":
            raise TypeError(f"safetensors keys must be strings other than '__metadata__', got {k!r}")
        if isinstance(v, Tensor):
            v = v.array
        if not (isinstance(v, np.ndarray) or backend.is_cupy_array(v)):
            raise TypeError(f"[{k!r}]: safetensors stores only tensors, got {type(v).__name__} (use minigrad.save "
                            f"for checkpoints with other values)")
        a = backend.to_numpy(v)
        name = _ST_NAMES.get(a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype)
        if name is None:
            raise TypeError(f"[{k!r}]: safetensors cannot store dtype {a.dtype}; supported: "
                            f"{', '.join(sorted(str(np.dtype(d)) for d in _ST_DTYPES.values()))}")
        data = np.asarray(a, dtype=np.dtype(_ST_DTYPES[name])).tobytes(order="C")
        header[k] = {"dtype": name, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header = {"__metadata__": dict(metadata), **header}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)

    def write(f):
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for c in chunks:
            f.write(c)
    _atomic_write(path, write)


def read_safetensors_header(path):
    """The parsed JSON header of a .safetensors file and the byte offset where its data starts; raises
    ``CheckpointError`` naming the file when it is not a well-formed safetensors file."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name!r}: no such file")
    size = os.path.getsize(name)

    def bad(what):
        return CheckpointError(f"{name!r}: not a readable safetensors file: {what}")
    with open(name, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise bad(f"{size} bytes, too short for the 8-byte header length")
        n = int.from_bytes(head, "little")
        if n > min(size - 8, _ST_MAX_HEADER):
            raise bad(f"the header length {n} does not fit in the file of {size} bytes "
                      f"(found {_describe(head)})")
        try:
            header = json.loads(fh.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise bad(f"its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    meta = header.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise bad("__metadata__ is not a dict of strings")
    spans, data_size = [], size - 8 - n
    for k, info in header.items():
        ok = (isinstance(info, dict) and info.get("dtype") in _ST_DTYPES and isinstance(info.get("shape"), list)
              and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in info["shape"])
              and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2
              and all(isinstance(o, int) and not isinstance(o, bool) for o in info["data_offsets"]))
        if not ok:
            raise bad(f"entry {k!r} is not {{dtype (one of {', '.join(_ST_DTYPES)}), shape, data_offsets}}: "
                      f"{info!r}")
        begin, end = info["data_offsets"]
        expected = int(np.prod(info["shape"], dtype=np.int64)) * np.dtype(_ST_DTYPES[info["dtype"]]).itemsize
        if not 0 <= begin <= end <= data_size or end - begin != expected:
            raise bad(f"tensor {k!r} ({info['dtype']} {info['shape']}, {expected} bytes) has data_offsets "
                      f"{[begin, end]}, outside the {data_size} data bytes or of the wrong size")
        spans.append((begin, end, k))
    spans.sort()
    for (b0, e0, k0), (b1, e1, k1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise bad(f"tensors {k0!r} and {k1!r} overlap")
    return header, 8 + n


def load_safetensors(path, device="cpu"):
    """Read a .safetensors file into a ``{name: Tensor}`` dict on ``device`` (in the file's order).
    A truncated or malformed file raises ``CheckpointError`` naming the file; no other code is run."""
    header, start = read_safetensors_header(path)
    dev = backend.device(device)
    out = {}
    with open(os.fspath(path), "rb") as fh:
        for k, info in header.items():
            begin, end = info["data_offsets"]
            fh.seek(start + begin)
            a = np.frombuffer(fh.read(end - begin), dtype=_ST_DTYPES[info["dtype"]]).reshape(info["shape"])
            a = a.astype(a.dtype.newbyteorder("="), copy=True)
            out[k] = Tensor._wrap(backend.to_device(a, dev))
    return out
