"""minigrad/autograd/engine.py: the engine's contract (accumulation, graph freeing, versions, higher order)."""
import gc
import weakref

import numpy as np
import pytest

import minigrad
from minigrad.autograd import Function, grad, gradgradcheck
from helpers import requires_torch, torch


def test_leaf_gradients_accumulate_across_backward_calls():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [2 + 3, 4 + 3]
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_a_chain_of_10000_ops_backpropagates_without_recursion_error():
    x = minigrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_second_backward_through_a_freed_graph_raises():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1)


def test_saved_buffers_are_released_after_backward():
    x = minigrad.randn(100, requires_grad=True)
    h = x.tanh()
    ref = weakref.ref(h)
    y = (h * 2).sum()
    del h
    assert ref() is not None          # the graph holds the intermediate
    y.backward()
    gc.collect()
    assert ref() is None              # ... until backward frees it


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = minigrad.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(2, 3\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\).*shape \(2, 3\)"):
        (x * 2).backward(minigrad.ones(3))
    (x * 2).backward(minigrad.ones(2, 3))
    assert np.all(x.grad.numpy() == 2)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        minigrad.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        minigrad.arange(3).requires_grad_()


def test_no_grad_and_enable_grad():
    x = minigrad.ones(2, requires_grad=True)
    with minigrad.no_grad():
        y = x * 2
        with minigrad.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @minigrad.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_in_place_change_of_a_saved_tensor_makes_backward_raise():
    x = minigrad.ones(3, requires_grad=True)
    y = x * 2
    z = (y * y).sum()          # Mul saves y
    with minigrad.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation.*version 1, expected version 0"):
        z.backward()


def test_in_place_ops_on_a_leaf_that_requires_grad_are_refused_outside_no_grad():
    w = minigrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 5.0
    with minigrad.no_grad():
        w.sub_(0.5)
        w[1] = 3.0
    assert w.tolist() == [0.5, 3.0, 0.5]


def test_in_place_update_ops_under_no_grad():
    p = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    g = minigrad.tensor([0.5, 0.5, 0.5])
    with minigrad.no_grad():
        p.add_(g, alpha=-2)
        p.mul_(2)
        p.clamp_(min=0.5)
        q = minigrad.zeros(3)
        q.copy_(p)
        q += 1
    assert p.tolist() == [0.5, 2.0, 4.0] and q.tolist() == [1.5, 3.0, 5.0]
    p.grad = minigrad.ones(3)
    with minigrad.no_grad():
        p.grad.zero_()
    assert p.grad.tolist() == [0, 0, 0]


def test_iadd_inside_a_graph_is_out_of_place():
    x = minigrad.ones(2, requires_grad=True)
    h = x * 3
    h += x            # a residual connection written the PyTorch way
    h.sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_autograd_grad_does_not_touch_dot_grad():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    w = minigrad.tensor([3.0, 4.0], requires_grad=True)
    (gx,) = grad((x * w).sum(), x)
    assert gx.tolist() == [3.0, 4.0] and x.grad is None and w.grad is None


def test_autograd_grad_of_a_non_leaf_input():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    (gh,) = grad((h * h).sum(), h)
    assert gh.tolist() == [4.0, 8.0]


def test_autograd_grad_unused_input():
    x = minigrad.ones(2, requires_grad=True)
    u = minigrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        grad((x * 2).sum(), [x, u])
    gx, gu = grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None and gx.tolist() == [2.0, 2.0]


@requires_torch
def test_second_and_third_derivatives_match_torch():
    v = np.array([0.3, -1.2, 2.0])
    x = minigrad.tensor(v, requires_grad=True)
    t = torch.tensor(v, requires_grad=True)
    fm = lambda a: (a.tanh() * a.sigmoid() + a.exp() * a.sin()).sum()
    (g1,) = grad(fm(x), x, create_graph=True)
    (g2,) = grad(g1.sum(), x, create_graph=True)
    (g3,) = grad(g2.sum(), x)
    (t1,) = torch.autograd.grad(fm(t), t, create_graph=True)
    (t2,) = torch.autograd.grad(t1.sum(), t, create_graph=True)
    (t3,) = torch.autograd.grad(t2.sum(), t)
    for a, b in ((g1, t1), (g2, t2), (g3, t3)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("f", [
    lambda a, b: (a @ b).tanh(), lambda a, b: (a.log_softmax(1) * b.T).exp(), lambda a, b: a.softmax(0) ** 2,
    lambda a, b: (a / b.T.abs()).sigmoid(), lambda a, b: a.exp().log().sqrt(),
])
def test_gradgradcheck_of_compositions(f):
    rng = np.random.default_rng(0)
    a = minigrad.tensor(rng.uniform(0.5, 1.5, (3, 4)), requires_grad=True)
    b = minigrad.tensor(rng.uniform(0.5, 1.5, (4, 3)), requires_grad=True)
    assert gradgradcheck(f, (a, b))


def test_backward_create_graph_gives_differentiable_leaf_grad():
    x = minigrad.tensor(2.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    assert x.grad.item() == 12.0 and x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0   # d(3x^2)/dx = 6x


def test_retain_grad_on_an_intermediate():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]


def test_retained_grads_own_their_memory():
    # Add passes its upstream gradient on unchanged, and the root's gradient is the caller's tensor:
    # changing one retained .grad in place must not change another, nor the caller's gradient.
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    w = minigrad.tensor([3.0, 4.0], requires_grad=True)
    y = a * 2
    z = y + w
    y.retain_grad()
    z.retain_grad()
    g = minigrad.tensor([5.0, 6.0])
    z.backward(g)
    with minigrad.no_grad():
        y.grad.zero_()
        w.grad.zero_()
    assert z.grad.tolist() == [5.0, 6.0] and g.tolist() == [5.0, 6.0] and a.grad.tolist() == [10.0, 12.0]


def test_gradient_of_broadcast_input_is_summed_back_and_cast():
    b = minigrad.tensor([1.0, 2.0], dtype=minigrad.float32, requires_grad=True)
    x = minigrad.ones(3, 2, dtype=minigrad.float64)
    (x * b).sum().backward()
    assert b.grad.shape == (2,) and b.grad.dtype == minigrad.float32 and b.grad.tolist() == [3.0, 3.0]


def test_detach_shares_memory_but_not_the_graph():
    x = minigrad.ones(2, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None


def test_leaf_gradients_never_share_memory():
    a = minigrad.ones(3, requires_grad=True)
    b = minigrad.ones(3, requires_grad=True)
    (a + b).sum().backward()            # Add hands one array to both inputs, Sum a broadcast view
    with minigrad.no_grad():
        a.grad.mul_(5)
    assert b.grad.tolist() == [1.0, 1.0, 1.0] and a.grad.tolist() == [5.0, 5.0, 5.0]
    x = minigrad.ones(3, requires_grad=True)
    g = minigrad.tensor([1.0, 2.0, 3.0])
    x.reshape(3, 1).backward(g.reshape(3, 1))
    with minigrad.no_grad():
        x.grad.zero_()
    assert g.tolist() == [1.0, 2.0, 3.0]


def _all_function_classes():
    import importlib
    import pkgutil
    import minigrad.ops
    for m in pkgutil.walk_packages(minigrad.ops.__path__, "minigrad.ops."):
        importlib.import_module(m.name)
    seen, todo = [], [Function]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("minigrad.") and sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def test_every_function_declares_what_its_backward_reads():
    # save_inputs = False when backward never calls saved_inputs() (else its inputs live until the pass
    # ends); save_output = True exactly when it calls saved_output() (else a crash in backward, or the
    # output kept alive for nothing)
    import inspect
    classes = _all_function_classes()
    assert len(classes) > 30
    wrong = []
    for cls in classes:
        src = inspect.getsource(cls.backward)
        if ("saved_inputs()" in src) != cls.save_inputs:
            wrong.append(f"{cls.__qualname__}: save_inputs = {cls.save_inputs}")
        if ("saved_output()" in src) != cls.save_output:
            wrong.append(f"{cls.__qualname__}: save_output = {cls.save_output}")
    assert not wrong, wrong


def test_backward_of_several_outputs_names_the_one_without_grad():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"element 1 of tensors \(shape \(3,\)\) does not require grad"):
        minigrad.autograd.backward([(x * 2).sum(), minigrad.ones(3)], [None, minigrad.ones(3)])


def test_queue_callback_runs_once_after_every_leaf_grad_is_set():
    from minigrad.autograd import Function, queue_callback
    seen = []
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)

    class Probe(Function):
        save_inputs = False

        def forward(self, x):
            return x * 1

        def backward(self, gy):
            queue_callback(lambda: seen.append(None if w.grad is None else w.grad.numpy().copy()))
            return gy

    (Probe()(w * 3.0)).sum().backward()
    assert len(seen) == 1 and seen[0].tolist() == [3.0, 3.0]
    minigrad.autograd.grad(Probe()(w * 2.0).sum(), w)       # grad() sets no .grad: the callback is dropped
    (w * 1.0).sum().backward()
    assert len(seen) == 1
