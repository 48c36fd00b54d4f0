"""Einstein summation. The gradient for one operand is another einsum (of the output gradient with the
other operands), so einsum is differentiable to any order."""
from __future__ import annotations

import string

from ..autograd import Function
from ..tensor import Tensor
from .shape import expand, reshape


class Einsum(Function):
    """``einsum(equation, *operands)`` for an explicit equation of letters only (``einsum`` rewrites ``...``)."""

    def __init__(self, inputs, output):
        self.subs, self.out = inputs, output

    def forward(self, *arrays):
        return self.xp.einsum(",".join(self.subs) + "->" + self.out, *arrays, optimize=len(arrays) > 2)

    def backward(self, gy):
        xs = self.saved_inputs()
        grads = []
        for k, (x, s) in enumerate(zip(xs, self.subs)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            if len(set(s)) != len(s):
                raise NotImplementedError(f"einsum: the gradient for an operand with a repeated index ({s!r}, a "
                                          f"diagonal or trace) is not implemented")
            others = [(t, o) for j, (t, o) in enumerate(zip(xs, self.subs)) if j != k]
            seen = set(self.out).union(*[o for _, o in others])
            target = "".join(c for c in s if c in seen)
            g = Einsum([self.out] + [o for _, o in others], target)(gy, *[t for t, _ in others])
            if target != s:                       # indices summed in this operand alone: broadcast back
                g = expand(reshape(g, [x.shape[i] if c in seen else 1 for i, c in enumerate(s)]), *x.shape)
            grads.append(g)
        return tuple(grads)


def einsum(equation, *operands):
    """Sums of products over the indices an equation names, e.g. ``einsum('bij,bjk->bik', a, b)``; ``...``
    and the implicit output form (``'ij,jk'``) work as in PyTorch. Operands may also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for t in operands:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operands must be Tensors, got {type(t).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} names {len(subs)} operands, {len(operands)} given")
    free = [c for c in string.ascii_letters if c not in eq]
    n_ell = max([t.ndim - len(s.replace("...", "")) for s, t in zip(subs, operands) if "..." in s], default=0)
    ell = "".join(free[:n_ell])
    fixed = []
    for s, t in zip(subs, operands):
        if "..." in s:
            s = s.replace("...", ell[n_ell - (t.ndim - len(s.replace("...", ""))):])
        if len(s) != t.ndim:
            raise ValueError(f"einsum: operand {len(fixed)} has {t.ndim} dimensions (shape {tuple(t.shape)}) but "
                             f"the equation gives it {len(s)} indices ({s!r})")
        fixed.append(s)
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(fixed)
        out = ell + "".join(sorted(c for c in set(letters) if c not in ell and letters.count(c) == 1))
    return Einsum(fixed, out)(*operands)
