"""max/avg/adaptive pooling, pad, local_response_norm, dropout: PyTorch parity, gradchecks, errors."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import minigrad
import minigrad.nn.functional as F
from helpers import check_op, torch

TF = torch.nn.functional if torch is not None else None


def _distinct(rng, shape):
    """Values with no ties (a permutation), so max-pool gradients are well defined."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0


def check_pool(fn, tfn, x, atol=1e-12):
    """Forward and input gradient (random upstream gradient) against torch in float64, the layout legs,
    and a gradcheck along two random directions (the element-by-element checks are further down)."""
    return check_op(fn, [x], tfn, atol=atol, rtol=1e-7, fast=True, second_order=False,
                    gradcheck_kwargs=dict(n_directions=2))


@st.composite
def pool_cases(draw, dilation=True):
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    S = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    PH, PW = draw(st.integers(0, KH // 2)), draw(st.integers(0, KW // 2))
    D = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    lo_h, lo_w = max(1, D[0] * (KH - 1) + 1 - 2 * PH), max(1, D[1] * (KW - 1) + 1 - 2 * PW)
    H, W = draw(st.integers(lo_h, lo_h + 6)), draw(st.integers(lo_w, lo_w + 6))
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    x = _distinct(np.random.default_rng(draw(st.integers(0, 999))), (N, C, H, W))
    kw = dict(kernel_size=(KH, KW), stride=S, padding=(PH, PW), ceil_mode=draw(st.booleans()))
    if dilation:
        kw["dilation"] = D
    return x, kw


@settings(max_examples=60)
@given(pool_cases())
def test_max_pool2d_matches_torch(case):
    x, kw = case
    # a window wholly inside the padding gives -inf; PyTorch then writes its gradient past the plane
    assume(np.isfinite(F.max_pool2d(minigrad.tensor(x), **kw).numpy()).all())
    y, i = check_pool(lambda a: F.max_pool2d(a, return_indices=True, **kw),
                      lambda a: TF.max_pool2d(a, return_indices=True, **kw), x)     # indices too
    assert i.dtype == minigrad.int64


@settings(max_examples=60)
@given(pool_cases(dilation=False), st.booleans(), st.sampled_from([None, None, 2, 5]))
def test_avg_pool2d_matches_torch(case, count_include_pad, divisor_override):
    x, kw = case
    kw.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    check_pool(lambda a: F.avg_pool2d(a, **kw), lambda a: TF.avg_pool2d(a, **kw), x)


@settings(max_examples=30)
@given(st.integers(1, 10), st.integers(1, 10), st.integers(1, 5), st.sampled_from([None, 1, 2, 3, 4]),
       st.integers(0, 999))
def test_adaptive_pools_match_torch(H, W, OH, OW, seed):
    x = _distinct(np.random.default_rng(seed), (2, 3, H, W))
    check_pool(lambda a: F.adaptive_avg_pool2d(a, (OH, OW)), lambda a: TF.adaptive_avg_pool2d(a, (OH, OW)), x)
    check_pool(lambda a: F.adaptive_max_pool2d(a, (OH, OW)), lambda a: TF.adaptive_max_pool2d(a, (OH, OW)), x)


def test_overlapping_pools_gradcheck_and_second_order():
    """3x3 stride 2 (AlexNet) windows overlap: a wrong scatter would show in the gradient."""
    rng = np.random.default_rng(0)
    x = _distinct(rng, (2, 2, 7, 7))
    for fn, tfn in [
        (lambda a: F.max_pool2d(a, 3, 2), lambda a: TF.max_pool2d(a, 3, 2)),
        (lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), lambda a: TF.max_pool2d(a, 3, 2, 1, ceil_mode=True)),
        (lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False),
         lambda a: TF.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
        (lambda a: F.adaptive_max_pool2d(a, (3, 4)), lambda a: TF.adaptive_max_pool2d(a, (3, 4))),
        (lambda a: F.adaptive_avg_pool2d(a, (3, 4)), lambda a: TF.adaptive_avg_pool2d(a, (3, 4))),
        (lambda a: F.adaptive_avg_pool2d(a, 1), lambda a: TF.adaptive_avg_pool2d(a, 1)),
    ]:
        check_op(fn, [x], tfn, atol=1e-10)


def test_max_pool_ties_send_the_gradient_to_one_position():
    x = minigrad.ones(1, 1, 4, 4, dtype=minigrad.float64, requires_grad=True)
    F.max_pool2d(x, 2, 2).sum().backward()
    g = x.grad.numpy()[0, 0]
    assert g.sum() == 4 and (g[::2, ::2] == 1).all()       # the first element of each window, as PyTorch
    if torch is not None:
        xt = torch.ones(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
        TF.max_pool2d(xt, 2, 2).sum().backward()
        np.testing.assert_array_equal(g, xt.grad.numpy()[0, 0])


def test_pool_output_size_and_unbatched_input():
    x = minigrad.randn(3, 9, 9)
    assert F.max_pool2d(x, 3, 2).shape == (3, 4, 4)
    assert F.max_pool2d(x, 3, 2, ceil_mode=True).shape == (3, 4, 4)
    assert F.max_pool2d(minigrad.randn(1, 1, 10, 10), 3, 2, ceil_mode=True).shape == (1, 1, 5, 5)
    assert F.avg_pool2d(x, 2).shape == (3, 4, 4)


@pytest.mark.parametrize("call, words", [
    (lambda: F.max_pool2d(minigrad.zeros(1, 1, 5, 5), 3, padding=2), ["padding", "half"]),
    (lambda: F.max_pool2d(minigrad.zeros(1, 1, 2, 2), 3), ["(1, 1, 2, 2)", "too small"]),
    (lambda: F.avg_pool2d(minigrad.zeros(4, 4), 2), ["(4, 4)"]),
    (lambda: F.pad(minigrad.zeros(1, 1, 3, 3), (3, 0), mode="reflect"), ["size 3", "(1, 1, 3, 3)"]),
    (lambda: F.pad(minigrad.zeros(1, 1, 3, 3), (1, 0, 1), mode="constant"), ["even"]),
    (lambda: F.pad(minigrad.zeros(3, 3), (1, 1), mode="wrap"), ["mode"]),
])
def test_bad_input_names_the_problem(call, words):
    with pytest.raises(ValueError) as e:
        call()
    for word in words:
        assert word in str(e.value), (word, str(e.value))


@settings(max_examples=40)
@given(st.sampled_from(["constant", "reflect", "replicate", "circular"]),
       st.lists(st.integers(0, 3), min_size=2, max_size=4), st.integers(0, 999))
def test_pad_matches_torch(mode, pad, seed):
    pad = pad[:len(pad) // 2 * 2] if mode == "constant" else (pad * 2)[:4]   # torch: 2-D padding of 4-D input
    x = np.random.default_rng(seed).standard_normal((2, 3, 4, 5))
    check_pool(lambda a: F.pad(a, pad, mode), lambda a: TF.pad(a, pad, mode), x)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck_and_second_order(mode):
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    check_op(lambda a: F.pad(a, (2, 1, 1, 2), mode), [x], lambda a: TF.pad(a, (2, 1, 1, 2), mode))


def test_constant_pad_value_and_negative_crop():
    x = np.random.default_rng(0).standard_normal((2, 3, 5))
    check_op(lambda a: F.pad(a, (-1, 2, 1, -2), value=1.5), [x], lambda a: TF.pad(a, (-1, 2, 1, -2), value=1.5))


@pytest.mark.parametrize("size", [1, 2, 5])
def test_local_response_norm_matches_torch(size):
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 3))
    check_op(lambda a: F.local_response_norm(a, size, alpha=0.1, beta=0.75, k=2.0), [x],
             lambda a: TF.local_response_norm(a, size, alpha=0.1, beta=0.75, k=2.0))


def test_dropout():
    minigrad.manual_seed(0)
    x = minigrad.ones(200, 50, dtype=minigrad.float64, requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())    # gradient = mask / (1-p)
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).detach().numpy() == 0).all()
    minigrad.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, 0.3).detach().numpy(), y.detach().numpy())   # seeded
    with pytest.raises(ValueError):
        F.dropout(x, 1.5)
    z = minigrad.ones(10, 10)
    assert F.dropout(z, 0.5, inplace=True) is z


def test_dropout2d_zeroes_whole_channels():
    minigrad.manual_seed(1)
    x = minigrad.ones(8, 16, 3, 3)
    y = F.dropout2d(x, 0.5).numpy().reshape(8, 16, 9)
    assert ((y == 0).all(-1) | (y == 2).all(-1)).all()
    assert 0 < (y == 0).all(-1).sum() < 128
    assert F.dropout2d(minigrad.ones(4, 5, 7), 0.5).shape == (4, 5, 7)


def test_max_pool_window_wholly_in_padding_is_minus_inf_and_sends_no_gradient():
    x = minigrad.ones(1, 2, 1, 1, dtype=minigrad.float64, requires_grad=True)
    y = F.max_pool2d(x, (1, 2), padding=(0, 1), dilation=(1, 2))
    assert np.isneginf(y.detach().numpy()).all()
    y.backward(minigrad.ones(*y.shape, dtype=minigrad.float64))
    np.testing.assert_array_equal(x.grad.numpy(), 0)
