"""minigrad/ops/einsum.py: einsum equations (explicit, implicit, ellipsis, summed-out indices) against torch."""
import numpy as np
import pytest

import minigrad
from helpers import check_op, torch

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("ij->i", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ii->i", [(3, 3)]),
]


@pytest.mark.parametrize("eq,shapes", CASES)
def test_einsum(eq, shapes):
    rng = np.random.default_rng(len(eq))
    xs = [rng.standard_normal(s) for s in shapes]
    if eq == "ii->i":    # forward only: the gradient of a repeated index is not implemented
        np.testing.assert_allclose(minigrad.einsum(eq, minigrad.tensor(xs[0])).numpy(), np.einsum(eq, xs[0]))
        with pytest.raises(NotImplementedError, match="repeated index"):
            minigrad.einsum(eq, minigrad.tensor(xs[0], requires_grad=True)).sum().backward()
        return
    check_op(lambda *ts: minigrad.einsum(eq, *ts), xs, lambda *ts: torch.einsum(eq, *ts))


def test_bmm():
    rng = np.random.default_rng(0)
    check_op(lambda a, b: a.bmm(b), [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))],
             lambda a, b: a.bmm(b))
    with pytest.raises(RuntimeError, match=r"bmm: expected \(B, N, M\) and \(B, M, P\)"):
        minigrad.bmm(minigrad.randn(2, 3, 4), minigrad.randn(3, 4, 5))
    with pytest.raises(ValueError, match="operand 0 has 2 dimensions"):
        minigrad.einsum("ijk->i", minigrad.randn(2, 3))
