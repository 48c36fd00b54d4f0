"""minigrad/ops/linalg.py: matmul with 1-D, batched and broadcast operands."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from helpers import check_op

CASES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
         ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((1, 2, 3), (6, 3, 1))]


@pytest.mark.parametrize("sa,sb", CASES)
def test_matmul_shapes(sa, sb):
    rng = np.random.default_rng(0)
    check_op(lambda a, b: a @ b, [rng.standard_normal(sa), rng.standard_normal(sb)], lambda a, b: a @ b)


@given(m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_matmul_random_sizes(m, k, n, seed):
    rng = np.random.default_rng(seed)
    check_op(minigrad.matmul, [rng.standard_normal((m, k)), rng.standard_normal((k, n))], lambda a, b: a @ b)


def test_linear():
    import minigrad.nn.functional as F
    rng = np.random.default_rng(1)
    check_op(F.linear, [rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)],
             lambda x, w, b: x @ w.T + b)


def test_matmul_mismatch_names_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\) and \(4, 5\)"):
        minigrad.ones(2, 3) @ minigrad.ones(4, 5)


@pytest.mark.parametrize("sa, sb, words", [
    ((3,), (4,), ["(3,) and (4,)", "3 != 4"]),                          # the shapes given, not the promoted ones
    ((2, 2, 3), (3, 3, 4), ["(2, 2, 3) and (3, 3, 4)", "(2,) and (3,)"]),  # batch dimensions
])
def test_matmul_mismatch_names_the_given_shapes_and_batch_dims(sa, sb, words):
    with pytest.raises(RuntimeError) as e:
        minigrad.ones(*sa) @ minigrad.ones(*sb)
    for w in words:
        assert w in str(e.value)
