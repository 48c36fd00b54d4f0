"""minigrad/autograd/gradcheck.py: it passes right gradients, catches wrong ones, and says where."""
import numpy as np
import pytest

import minigrad
from minigrad.autograd import Function, GradcheckError, gradcheck, gradgradcheck


class WrongSoftmaxGrad(Function):
    """softmax with the gradient of sum() hard-wired to zero: a ones-seeded check cannot see the bug."""

    def forward(self, x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def backward(self, gy):
        return gy * 0


class OffByOne(Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy * (2 * x + (x > 1.0).double())   # wrong where x > 1


def test_passes_correct_gradients():
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda t: (t.exp() * t).softmax(1), x)


def test_random_upstream_gradient_catches_a_softmax_bug_that_sum_hides():
    x = minigrad.tensor([0.1, 0.5, -0.3], dtype=minigrad.float64, requires_grad=True)
    y = WrongSoftmaxGrad()(x)
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), 0)     # the sum() seed "agrees" with the true gradient (zero)
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: WrongSoftmaxGrad()(t), x)


def test_failure_reports_index_values_and_relative_error():
    x = minigrad.tensor([[0.5, 1.5], [0.2, 0.3]], dtype=minigrad.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0.*1 of 4 elements.*index \(0, 1\).*analytic.*numeric.*relative error"):
        gradcheck(lambda t: OffByOne()(t), x)
    assert gradcheck(lambda t: OffByOne()(t), x, raise_exception=False) is False


def test_fast_mode_uses_random_directions_and_still_catches_bugs():
    x = minigrad.tensor(np.random.default_rng(1).uniform(0.5, 2, 5000), requires_grad=True)
    assert gradcheck(lambda t: (t.log() * t).sum(), x)             # over max_elements: directions
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(lambda t: OffByOne()(t), x, fast_mode=True)


def test_warns_at_a_kink():
    x = minigrad.tensor([0.0, 1.0], dtype=minigrad.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="kink"):
        gradcheck(lambda t: t.abs(), x)


def test_warns_for_float32_inputs():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        gradcheck(lambda t: t * 2, x, atol=1e-2, rtol=1e-2)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class BadTanh(Function):
        save_output = True

        def forward(self, x):
            return np.tanh(x)

        def backward(self, gy):
            y = self.saved_output()
            return gy * (1 - y.detach() * y.detach())  # detached: second derivative lost

    x = minigrad.tensor([0.3, -0.7], dtype=minigrad.float64, requires_grad=True)
    assert gradcheck(lambda t: BadTanh()(t), x)
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda t: BadTanh()(t), x)


def test_multiple_outputs_and_inputs():
    rng = np.random.default_rng(3)
    a = minigrad.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, y: (x * y, (x + y).tanh().sum(0)), (a, b))
