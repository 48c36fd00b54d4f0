"""minigrad/autograd/function.py: custom ops in PyTorch's ctx form, beside minigrad's own form."""
import numpy as np
import pytest

import minigrad
from minigrad.autograd import Function, gradcheck, gradgradcheck
from helpers import DEVICES, requires_torch, torch


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return 3 * x * x * gy


class ScaledMul(Function):
    """a * b * k with a non-Tensor argument k; records needs_input_grad."""
    seen = []

    @staticmethod
    def forward(ctx, a, k, b):
        ctx.save_for_backward(a, b)
        ctx.k = k
        ScaledMul.seen.append(ctx.needs_input_grad)
        return a * b * k

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gy * b * ctx.k if ctx.needs_input_grad[0] else None
        gb = gy * a * ctx.k if ctx.needs_input_grad[2] else None
        return ga, None, gb


class SortWithIndex(Function):
    """Two outputs, the second (indices) marked non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        idx = minigrad.tensor(np.argsort(x.detach().numpy(), axis=-1))
        y = minigrad.tensor(np.take_along_axis(x.detach().numpy(), idx.numpy(), -1))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return y, idx

    @staticmethod
    def backward(ctx, gy, gidx):
        idx, = ctx.saved_tensors
        assert gidx is not None and not gidx.numpy().any()    # materialized as zeros
        gx = np.zeros(gy.shape)
        np.put_along_axis(gx, idx.numpy(), gy.numpy(), -1)
        return minigrad.tensor(gx)


class ExpSaveOutput(Function):
    """Saves its output; backward written with minigrad ops."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y


class Split(Function):
    """Two differentiable outputs, so the engine sums slots for each."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin(), x * 2

    @staticmethod
    def backward(ctx, ga, gb):
        x, = ctx.saved_tensors
        return ga * x.cos() + gb * 2


class SetupCube(Function):
    """PyTorch 2's split form: forward without ctx, setup_context fills it."""

    @staticmethod
    def forward(x):
        return x * x * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return 3 * x * x * gy


def _x(*shape, seed=0):
    return minigrad.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_ctx_form_passes_gradcheck_and_gradgradcheck():
    x = _x(3, 4)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))        # backward is made of minigrad ops
    assert gradcheck(ExpSaveOutput.apply, (x,))
    assert gradgradcheck(ExpSaveOutput.apply, (x,))
    assert gradcheck(Split.apply, (x,))
    assert gradgradcheck(Split.apply, (x,))
    assert gradcheck(SetupCube.apply, (x,))
    assert gradgradcheck(SetupCube.apply, (x,))


def test_second_derivative_by_hand():
    x = minigrad.tensor([0.5, -2.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    g, = minigrad.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    gg, = minigrad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy())


def test_non_tensor_argument_and_needs_input_grad():
    a = _x(2, 3)
    b = minigrad.tensor(np.ones((2, 3)))           # does not require grad
    ScaledMul.seen.clear()
    y = ScaledMul.apply(a, 2.5, b)
    assert ScaledMul.seen == [(True, False, False)]
    y.backward(minigrad.tensor(np.full((2, 3), 0.5)))
    np.testing.assert_allclose(a.grad.numpy(), 0.5 * 2.5 * np.ones((2, 3)))
    assert b.grad is None
    assert gradcheck(lambda a, b: ScaledMul.apply(a, 2.5, b), (a, _x(2, 3, seed=1)))


def test_mark_non_differentiable_output():
    x = _x(2, 5)
    y, idx = SortWithIndex.apply(x)
    assert y.requires_grad and not idx.requires_grad and idx.dtype == minigrad.int64
    np.testing.assert_array_equal(y.detach().numpy(), np.sort(x.detach().numpy(), -1))
    assert gradcheck(lambda t: SortWithIndex.apply(t)[0], (x,))


def test_no_graph_when_no_input_requires_grad_or_under_no_grad():
    x = minigrad.tensor(np.ones(3))
    assert Cube.apply(x).grad_fn is None
    with minigrad.no_grad():
        y = Cube.apply(_x(3))
    assert not y.requires_grad and y.grad_fn is None


def test_grad_fn_is_named_after_the_op_and_the_graph_is_freed():
    x = _x(3)
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_saved_tensor_changed_in_place_raises():
    x = _x(3)
    h = x * 1.0
    y = Cube.apply(h)
    with minigrad.no_grad():
        h += 1
    with pytest.raises(RuntimeError, match="modified by an in-place"):
        y.sum().backward()


def test_input_returned_as_is_keeps_its_own_grad_fn():
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, gy):
            return gy * 2

    x = _x(3)
    h = x * 1.0
    y = Ident.apply(h)
    assert y is not h and h.grad_fn is not y.grad_fn
    y.backward(minigrad.ones(3, dtype=minigrad.float64))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones(3))


def test_backward_mistakes_are_named():
    class WrongCount(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, gy):
            return gy

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, gy):
            return minigrad.ones(7, dtype=minigrad.float64)

    with pytest.raises(RuntimeError, match="returned 1 gradients, expected 2"):
        WrongCount.apply(_x(3), 2.0).sum().backward()
    with pytest.raises(RuntimeError, match=r"shape \(7,\) for argument 0, whose shape is \(3,\)"):
        WrongShape.apply(_x(3)).backward()
    with pytest.raises(TypeError, match="save_for_backward accepts Tensors"):
        class SavesInt(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(3)
                return x
        SavesInt.apply(_x(2))


def test_minigrad_form_still_works_and_has_apply():
    class Square(Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            x, = self.saved_inputs()
            return 2 * x * gy

    x = _x(4)
    assert gradgradcheck(lambda t: Square()(t), (x,))
    np.testing.assert_allclose(Square.apply(x).detach().numpy(), x.detach().numpy() ** 2)
    assert isinstance(minigrad.ops.elementwise.Mul(), Function)   # built-in ops share the base


@requires_torch
def test_same_gradients_as_the_same_op_written_for_torch():
    class TorchCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, gy):
            x, = ctx.saved_tensors
            return 3 * x * x * gy

    a = np.random.default_rng(3).standard_normal((3, 4))
    v = np.random.default_rng(4).standard_normal((3, 4))
    x = minigrad.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    g, = minigrad.autograd.grad(Cube.apply(x), x, minigrad.tensor(v), create_graph=True)
    tg, = torch.autograd.grad(TorchCube.apply(tx), tx, torch.tensor(v), create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy())
    gg, = minigrad.autograd.grad(g.sum(), x)
    tgg, = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_ctx_form_on_each_device(device):
    a = np.random.default_rng(5).standard_normal((2, 5))
    x = minigrad.tensor(a, device=device, requires_grad=True)
    s, d = Split.apply(x)
    (s * s + d).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * np.sin(a) * np.cos(a) + 2)
    g, = minigrad.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.device == x.device
    gg, = minigrad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.cpu().numpy(), 6 * a)
