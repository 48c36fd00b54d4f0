"""Data types. They are NumPy dtype objects (CuPy uses the same), so ``t.dtype == minigrad.float32`` and
``t.numpy().dtype == t.dtype`` both hold. The default floating dtype is float32, as in PyTorch."""
import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
uint8 = np.dtype("uint8")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool = np.dtype("bool")

_default_float = float32


def get_default_dtype():
    return _default_float


def set_default_dtype(dtype):
    """Set the dtype of new floating tensors made from Python floats (float32 or float64)."""
    global _default_float
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"default dtype must be a floating type, got {dtype}")
    _default_float = dtype


def is_floating(dtype) -> "bool":
    return np.dtype(dtype).kind == "f"


def _category(dtype):
    return {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}[dtype.kind]


def promote(a, b, a_0d=False, b_0d=False):
    """PyTorch's rule for two tensors: a float beats an integer or bool, otherwise the wider of the two.
    A 0-d tensor beside one with dimensions only decides the dtype when its category (bool < integer <
    float) is higher: float32 tensor + 0-d float64 tensor is float32, as in PyTorch."""
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    if a_0d != b_0d:
        dim, zero = (b, a) if a_0d else (a, b)
        return dim if _category(zero) <= _category(dim) else zero
    fa, fb = a.kind == "f", b.kind == "f"
    if fa != fb:
        return a if fa else b
    return np.promote_types(a, b)


def name(dtype) -> str:
    return "minigrad." + np.dtype(dtype).name
