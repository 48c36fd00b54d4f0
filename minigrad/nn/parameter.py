"""``nn.Parameter``: a Tensor that a Module registers as one of its parameters when assigned to it."""
from __future__ import annotations

from ..creation import empty
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` by default; ``module.w = Parameter(t)`` registers it.

    It shares ``data``'s array (no copy), as PyTorch's does. Ops on a Parameter return plain Tensors.
    """
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        super().__init__(data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return _rebuild, (self.array, self.requires_grad)

    def __deepcopy__(self, memo):
        p = Parameter(Tensor._wrap(self.array.copy()), self.requires_grad)
        if self.grad is not None:
            p.grad = Tensor._wrap(self.grad.array.copy())
        memo[id(self)] = p
        return p


def _rebuild(array, requires_grad):
    return Parameter(Tensor._wrap(array), requires_grad)


def empty_parameter(shape, device=None, dtype=None):
    """An uninitialised Parameter of ``shape``, for a layer's ``__init__`` (its reset_parameters fills it)."""
    return Parameter(empty(*shape, dtype=dtype, device=device))
