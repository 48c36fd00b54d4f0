"""minigrad: a small deep-learning framework on NumPy (CPU) and CuPy (GPU) with PyTorch's API.

    import minigrad
    x = minigrad.randn(3, requires_grad=True)
    (x.tanh() * x).sum().backward()
    x.grad
"""
import importlib as _importlib

from .tensor import Tensor  # first: autograd and ops import it (tensor.py declares its link to them)
from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Device, device, is_cuda_available, is_simulated
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randint_like, randn, randn_like, randperm, tensor, zeros,
                       zeros_like)
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half, int, int8, int16,
                     int32, int64, long, set_default_dtype, short, uint8)
from .ops import (abs, add, all, amax, amin, any, argmax, argmin, broadcast_to, cat, chunk, clamp, clip, cos,
                  div, eq, exp, flatten, ge, gt, isfinite, isnan, le, log, log_softmax, logsumexp, lt,
                  masked_fill, matmul, max, maximum, mean, min, minimum, mul, ne, neg, norm, permute, pow, relu,
                  repeat, reshape, rsqrt, sigmoid, sign, sin, softmax, split, sqrt, squeeze, stack, std, sub, sum,
                  tanh, transpose, unsqueeze, var, where)
from .random import Generator, manual_seed, seed

__version__ = "0.1.0"

# minigrad.cuda.is_available(), .is_simulated() (MINIGRAD_SIMULATE_CUDA: the testing device, on the CPU)
cuda = type("cuda", (), {"is_available": staticmethod(is_cuda_available), "is_simulated": staticmethod(is_simulated)})

# Heavier submodules load on first use, so `import minigrad` stays fast and needs only NumPy.
_LAZY = ("nn", "optim", "utils", "datasets", "transforms", "models", "metrics", "serialization", "train")

# kernels/ is installed as minigrad.kernels; in a source checkout it sits beside minigrad/ and is mapped here
# (cheap: the package's __init__ imports nothing; Numba loads with the first kernel call).
from .backend import _load_kernels_package  # noqa: E402

kernels = _load_kernels_package()


def __getattr__(name):
    if name in _LAZY:
        return _importlib.import_module(f".{name}", __name__)
    if name in ("save", "load"):
        return getattr(_importlib.import_module(".serialization", __name__), name)
    if name == "summary":
        return _importlib.import_module(".models.summary", __name__).summary
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
