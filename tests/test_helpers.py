"""tests/helpers.py: check_op, the harness every op test goes through, fails where it should: a wrong
backward, a forward that differs from the NumPy or torch reference, an op that depends on memory layout,
inputs on a declared kink (redrawn when they can be, refused when they cannot)."""
import numpy as np
import pytest

import minigrad
from helpers import check_op, torch
from minigrad.autograd import Function
from minigrad.autograd.gradcheck import GradcheckError
from minigrad.ops.elementwise import cos


class WrongSin(Function):
    """sin with the derivative's sign flipped."""

    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, gy):
        x, = self.saved_inputs()
        return -gy * cos(x)


def _x(rng):
    return [rng.standard_normal((3, 4))]


def test_a_correct_op_passes_every_leg():
    outs = check_op(minigrad.sin, _x, (torch.sin if torch is not None else None), np_ref=np.sin)
    assert outs[0].shape == (3, 4)


def test_a_wrong_backward_fails_the_gradcheck_without_torch():
    with pytest.raises(GradcheckError, match="Jacobian mismatch for input 0"):
        check_op(lambda x: WrongSin()(x), _x, np_ref=np.sin, second_order=False)


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_a_wrong_backward_fails_against_torch():
    with pytest.raises(AssertionError, match="gradient of input 0 differs from torch"):
        check_op(lambda x: WrongSin()(x), _x, torch.sin, gradcheck=False)


def test_a_wrong_forward_fails_against_the_numpy_reference():
    with pytest.raises(AssertionError, match="forward differs from the NumPy reference"):
        check_op(minigrad.sin, _x, np_ref=np.cos, gradcheck=False)


def test_an_op_that_reads_memory_order_fails_the_layout_legs():
    """ravel(order='K') follows the strides: right on a contiguous array, wrong on a transposed layout."""
    def flat(x):
        return minigrad.from_numpy(np.ravel(x.array, order="K").copy())
    with pytest.raises(AssertionError, match="on transposed inputs"):
        check_op(flat, _x, np_ref=lambda a: a.ravel(), gradcheck=False)


def test_inputs_on_a_kink_are_redrawn_or_refused():
    draws = []

    def inputs(rng):
        draws.append(1)
        x = rng.uniform(0.5, 1.0, size=(2, 3)) * rng.choice([-1.0, 1.0], size=(2, 3))
        if len(draws) == 1:
            x[0, 0] = 0.0                              # the first draw lands on relu's kink
        return [x]
    check_op(minigrad.relu, inputs, np_ref=lambda a: np.maximum(a, 0), kinks=[0.0])
    assert len(draws) == 2
    with pytest.raises(AssertionError, match="within 0.001 of a declared kink"):
        check_op(minigrad.relu, [np.array([0.0, 1.0])], kinks=[0.0])


@pytest.mark.skipif(not minigrad.is_cuda_available(), reason="no CUDA device (a GPU, or MINIGRAD_SIMULATE_CUDA)")
def test_an_op_that_differs_on_the_gpu_fails_the_gpu_leg():
    with pytest.raises(AssertionError, match="output 0 on cuda"):
        check_op(lambda x: x * (2.0 if x.device == "cpu" else 3.0), _x, gradcheck=False)
