"""minigrad.autograd.detect_anomaly: the first op whose output (forward) or gradient (backward) is not finite
raises, naming the op, its input shapes and the line of user code that created it; off, nothing is checked
or recorded."""
import warnings

import numpy as np
import pytest

import minigrad
from minigrad.autograd import detect_anomaly, is_anomaly_enabled, set_detect_anomaly


@pytest.fixture(autouse=True)
def quiet_numpy():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def divide(a, b):
    return a / b                                    # the line the forward error must point at


def test_forward_names_the_op_its_input_shapes_and_the_user_line():
    a = minigrad.tensor([1.0, 0.0, 2.0], requires_grad=True)
    b = minigrad.zeros(2, 3)
    with detect_anomaly(), pytest.raises(RuntimeError) as info:
        divide(a, b)
    msg = str(info.value)
    assert "Div produced nan and inf values in forward" in msg
    assert "output shape (2, 3); inputs (3,) float32, (2, 3) float32; every input was finite" in msg
    assert "test_anomaly.py" in msg and "in divide" in msg and "return a / b" in msg
    assert "minigrad/ops" not in msg                  # only the user's frames


def test_forward_says_when_an_input_was_already_non_finite():
    x = minigrad.tensor([1.0, float("nan")])
    with detect_anomaly(), pytest.raises(RuntimeError, match=r"Mul produced nan values .*input 0 already held"):
        x * 2.0


def test_backward_names_the_formula_and_where_its_op_was_created():
    x = minigrad.tensor([0.0, 4.0], dtype=minigrad.float64, requires_grad=True)
    with detect_anomaly():
        y = x.sqrt()                                # finite forward: sqrt(0) = 0
        loss = (y * minigrad.tensor([3.0, -1.5], dtype=minigrad.float64)).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    assert "SqrtBackward returned inf values in its gradient for input 0" in msg
    assert "forward inputs (2,) float64" in msg
    assert "y = x.sqrt()" in msg and "test_anomaly.py" in msg
    assert x.grad is None                           # nothing was accumulated


def test_backward_blames_the_first_formula_not_the_ops_inside_or_after_it():
    x = minigrad.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        u = x * 3.0
        y = u.sqrt()                                # sqrt's gradient 1/(2 sqrt(u)) is inf at u = 0
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    # not the division run inside SqrtBackward's formula, not MulBackward, which then receives the inf
    assert msg.startswith("detect_anomaly: SqrtBackward returned inf") and "Mul" not in msg and "Div" not in msg
    assert "y = u.sqrt()" in msg
    with detect_anomaly():                          # the mode's bookkeeping survived the error
        (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_off_by_default_and_nothing_recorded():
    assert not is_anomaly_enabled()
    x = minigrad.tensor([0.0], requires_grad=True)
    y = x.log()                                     # -inf, no error outside the mode (as in PyTorch)
    assert np.isneginf(y.detach().numpy()).all() and not hasattr(y.grad_fn, "anomaly_stack")
    with detect_anomaly(check_nan=False):
        z = x.log()
    assert "z = x.log()" in z.grad_fn.anomaly_stack


def test_decorator_and_nesting():
    seen = []

    @detect_anomaly()
    def step(x):
        seen.append(is_anomaly_enabled())
        with set_detect_anomaly(False):
            seen.append(is_anomaly_enabled())
            x.log()                                 # off here: no error
        seen.append(is_anomaly_enabled())
        return x.log()

    with pytest.raises(RuntimeError, match="Log produced inf values"):
        step(minigrad.tensor([0.0, 1.0]))
    assert seen == [True, False, True] and not is_anomaly_enabled()


def test_a_model_whose_loss_turns_nan():
    from minigrad import nn
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    x = minigrad.randn(5, 4)
    x.array[2, 1] = 1e38                            # an overflow inside the first Linear
    with detect_anomaly(), pytest.raises(RuntimeError, match=r"produced (inf|nan)[a-z ]* values in forward.*"
                                                             r"inputs \(5, 4\) float32"):
        model(x * 10.0)
