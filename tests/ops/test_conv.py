"""conv2d, conv_transpose2d, unfold, fold against PyTorch; gradchecks; properties; errors; memory budget."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import minigrad
import minigrad.nn.functional as F
from helpers import check_op, torch, wait_for_child
from minigrad.ops.conv import out_size

TF = torch.nn.functional if torch is not None else None


@st.composite
def conv_cases(draw):
    G = draw(st.sampled_from([1, 1, 2, "depthwise"]))
    Cg = draw(st.integers(1, 2))
    C = draw(st.integers(1, 3)) if G == "depthwise" else Cg * G
    G = C if G == "depthwise" else G
    O = G * draw(st.integers(1, 2))
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))          # non-square included
    DH, DW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)),
                             st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else draw(st.one_of(st.integers(1, 3),
                                                         st.tuples(st.integers(1, 3), st.integers(1, 3))))
    PH, PW = (0, 0) if isinstance(padding, str) else ((padding, padding) if isinstance(padding, int) else padding)
    lo_h, lo_w = max(1, DH * (KH - 1) + 1 - 2 * PH), max(1, DW * (KW - 1) + 1 - 2 * PW)
    H, W = draw(st.integers(lo_h, lo_h + 5)), draw(st.integers(lo_w, lo_w + 5))   # odd sizes included
    N = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    arrays = [rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C // G, KH, KW))]
    if bias:
        arrays.append(rng.standard_normal(O))
    return arrays, dict(stride=stride, padding=padding, dilation=(DH, DW), groups=G)


def check_conv(fn, tfn, arrays):
    """Forward and every input gradient (random upstream gradient) against torch in float64, the layout
    legs, and a gradcheck along two random directions (cheap enough for every hypothesis case; the
    element-by-element and second-order checks are the CASES below)."""
    check_op(fn, arrays, tfn, atol=1e-10, rtol=1e-9, fast=True, second_order=False,
             gradcheck_kwargs=dict(n_directions=2))


@settings(max_examples=60)
@given(conv_cases())
def test_conv2d_matches_torch(case):
    arrays, kw = case
    check_conv(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays)


@settings(max_examples=40)
@given(conv_cases(), st.integers(0, 2))
def test_conv_transpose2d_matches_torch(case, opad):
    arrays, kw = case
    if kw["padding"] in ("same", "valid"):
        kw["padding"] = 0
    x, w = arrays[:2]
    G = kw["groups"]
    # transposed conv: input channels = w.shape[0]; reuse the conv's output as the input shape
    u = np.random.default_rng(1).standard_normal((x.shape[0], w.shape[0], x.shape[2], x.shape[3]))
    S = kw["stride"] if isinstance(kw["stride"], tuple) else (kw["stride"],) * 2
    D = kw["dilation"]
    op = tuple(min(opad, max(s, d) - 1) for s, d in zip(S, D))
    b = [] if len(arrays) == 2 else [np.random.default_rng(2).standard_normal(w.shape[1] * G)]
    args = dict(stride=kw["stride"], padding=kw["padding"], output_padding=op, groups=G, dilation=D)
    P = kw["padding"] if isinstance(kw["padding"], tuple) else (kw["padding"],) * 2
    out = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, s, p, d, k, o in zip(u.shape[2:], S, P, D, w.shape[2:], op)]
    assume(min(out) >= 1)
    check_conv(lambda *a: F.conv_transpose2d(*a, **args), lambda *a: TF.conv_transpose2d(*a, **args), [u, w] + b)


CASES = [   # (input shape, weight shape, kwargs): small, for the float64 gradchecks
    ((2, 4, 6, 5), (6, 2, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)),
    ((1, 3, 5, 5), (3, 1, 3, 3), dict(padding="same", groups=3)),          # depthwise, 'same'
    ((2, 3, 4, 4), (5, 3, 1, 1), dict(stride=2)),                          # pointwise: plain GEMM
    ((1, 1, 7, 6), (2, 1, 1, 3), dict(padding=(0, 1))),                    # 1x3, one channel
    ((2, 2, 6, 4), (2, 2, 4, 1), dict(padding="same", dilation=2)),        # even kernel, 'same'
]


@pytest.mark.parametrize("xs, ws, kw", CASES)
def test_conv2d_gradcheck_and_second_order(xs, ws, kw):
    rng = np.random.default_rng(0)
    check_op(lambda x, w, b: F.conv2d(x, w, b, **kw), [rng.standard_normal(xs), rng.standard_normal(ws),
                                                       rng.standard_normal(ws[0])],
             lambda x, w, b: TF.conv2d(x, w, b, **kw), atol=1e-10)


def test_conv_transpose2d_gradcheck_and_second_order():
    rng = np.random.default_rng(0)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=1)
    check_op(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
             [rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(6)],
             lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw), atol=1e-10)


def test_unfold_fold_match_torch_and_are_differentiable():
    rng = np.random.default_rng(0)
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    check_op(lambda x: F.unfold(x, **kw), [rng.standard_normal((2, 3, 6, 7))], lambda x: TF.unfold(x, **kw))
    L = F.unfold(minigrad.zeros(1, 1, 6, 7), **kw).shape[-1]
    check_op(lambda c: F.fold(c, (6, 7), **kw), [rng.standard_normal((2, 3 * 6, L))],
             lambda c: TF.fold(c, (6, 7), **kw))


@settings(max_examples=40)
@given(st.integers(1, 12), st.integers(1, 4), st.integers(1, 3), st.integers(0, 3), st.integers(1, 3))
def test_output_size_formula(H, K, S, P, D):
    assume(D * (K - 1) + 1 <= H + 2 * P)
    x = minigrad.zeros(1, 1, H, H)
    y = F.conv2d(x, minigrad.zeros(1, 1, K, K), stride=S, padding=P, dilation=D)
    expected = (H + 2 * P - D * (K - 1) - 1) // S + 1
    assert y.shape == (1, 1, expected, expected) and out_size(H, K, S, 2 * P, D) == expected


@settings(max_examples=30)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.integers(0, 999))
def test_unfold_fold_adjoint(C, H, W, K, S, D, P, N, seed):
    """<unfold(x), c> == <x, fold(c)>."""
    assume(D * (K - 1) + 1 <= min(H, W) + 2 * P)
    rng = np.random.default_rng(seed)
    x = minigrad.tensor(rng.standard_normal((N, C, H, W)))
    u = F.unfold(x, K, dilation=D, padding=P, stride=S)
    c = minigrad.tensor(rng.standard_normal(u.shape))
    f = F.fold(c, (H, W), K, dilation=D, padding=P, stride=S)
    np.testing.assert_allclose((u * c).sum().item(), (x * f).sum().item(), rtol=1e-10, atol=1e-10)


def test_float32_stays_float32_and_unbatched_input():
    x, w = minigrad.randn(3, 6, 6), minigrad.randn(4, 3, 3, 3)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (4, 6, 6) and y.dtype == minigrad.float32


@pytest.mark.parametrize("call, words", [
    (lambda: F.conv2d(minigrad.zeros(1, 3, 8, 8), minigrad.zeros(4, 2, 3, 3)),
     ["(4, 2, 3, 3)", "2 channels", "(1, 3, 8, 8)"]),
    (lambda: F.conv2d(minigrad.zeros(1, 3, 4, 4), minigrad.zeros(2, 3, 7, 7), padding=1),
     ["7x7", "6x6", "(1, 3, 4, 4)"]),
    (lambda: F.conv2d(minigrad.zeros(1, 4, 8, 8), minigrad.zeros(4, 2, 3, 3), groups=3),
     ["groups=3", "(1, 4, 8, 8)"]),
    (lambda: F.conv2d(minigrad.zeros(1, 4, 8, 8), minigrad.zeros(3, 2, 3, 3), groups=2),
     ["groups=2", "3 output channels"]),
    (lambda: F.conv2d(minigrad.zeros(1, 1, 8, 8), minigrad.zeros(1, 1, 3, 3), stride=2, padding="same"),
     ["same", "stride"]),
    (lambda: F.conv_transpose2d(minigrad.zeros(1, 2, 4, 4), minigrad.zeros(3, 1, 3, 3)),
     ["(3, 1, 3, 3)", "3 channels", "(1, 2, 4, 4)"]),
    (lambda: F.conv_transpose2d(minigrad.zeros(1, 2, 4, 4), minigrad.zeros(2, 1, 3, 3), stride=2,
                                output_padding=2), ["output_padding"]),
    (lambda: F.fold(minigrad.zeros(1, 4, 5), (4, 4), 2), ["(1, 4, 5)", "9"]),
])
def test_bad_input_names_the_shapes(call, words):
    with pytest.raises(ValueError) as e:
        call()
    for word in words:
        assert word in str(e.value), (word, str(e.value))


def test_im2col_budget_bounds_peak_memory():
    """The whole column buffer would need 2.5 GiB; the chunked conv stays under budget + input + output."""
    N, C, O, H, K = 128, 24, 8, 64, 7
    col_bytes = N * C * K * K * H * H * 4
    assert col_bytes > 2 * 2 ** 30
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((N, C, H, H), dtype=np.float32))
    w = minigrad.tensor(rng.standard_normal((O, C, K, K), dtype=np.float32))
    budget = F.get_im2col_budget()
    assert budget == 256 * 2 ** 20
    tracemalloc.start()
    try:
        with minigrad.no_grad():
            y = F.conv2d(x, w, padding=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    io = x.numel() * 4 + y.numel() * 4 + w.numel() * 4
    assert peak < budget + io, (peak / 2 ** 20, (budget + io) / 2 ** 20)
    # and the result is right: compare one sample against an unchunked run
    old = F.set_im2col_budget(2 ** 40)
    try:
        y0 = F.conv2d(x[:2], w, padding=3)
    finally:
        F.set_im2col_budget(old)
    np.testing.assert_allclose(y.numpy()[:2], y0.numpy(), rtol=1e-4, atol=1e-3)


def test_small_budget_chunks_every_direction():
    """A budget smaller than one sample's columns still works (one sample per chunk), all gradients too."""
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((3, 2, 5, 5)), requires_grad=True)
    w = minigrad.tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
    gy = minigrad.tensor(rng.standard_normal((3, 4, 5, 5)))
    F.conv2d(x, w, padding=1).backward(gy)
    gx, gw = x.grad.numpy(), w.grad.numpy()
    x.grad = w.grad = None
    old = F.set_im2col_budget(1)
    try:
        F.conv2d(x, w, padding=1).backward(gy)
    finally:
        F.set_im2col_budget(old)
    np.testing.assert_allclose(x.grad.numpy(), gx, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), gw, atol=1e-12)
    with pytest.raises(ValueError):
        F.set_im2col_budget(0)


@settings(max_examples=50)
@given(st.integers(1, 300), st.integers(1, 2 ** 26), st.integers(1, 4))
def test_chunks_cover_the_batch_within_the_budget(N, per_sample, workers):
    from minigrad.ops import conv

    class K:
        CHUNK_BYTES = 4 * 2 ** 20

        @staticmethod
        def workers():
            return workers

    chunks = conv._chunks(N, per_sample, K)
    assert chunks[0][0] == 0 and chunks[-1][1] == N
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
    biggest = max(e - s for s, e in chunks)
    concurrent = workers if workers * per_sample <= conv.get_im2col_budget() else 1
    assert biggest == 1 or concurrent * biggest * per_sample <= conv.get_im2col_budget()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_conv_works_in_a_forked_child():
    """The chunk thread pool does not survive a fork; the child starts its own (DataLoader workers fork)."""
    import os
    x, w = minigrad.randn(8, 4, 16, 16), minigrad.randn(4, 4, 3, 3)
    y = F.conv2d(x, w, padding=1).numpy()          # the parent's pool exists now
    pid = os.fork()
    if pid == 0:
        ok = np.allclose(F.conv2d(x, w, padding=1).numpy(), y, atol=1e-4)
        os._exit(0 if ok else 1)
    assert wait_for_child(pid) == 0


@pytest.mark.parametrize("shape, wshape, kw", [
    ((16, 8, 12, 12), (8, 4, 3, 3), dict(padding=1, groups=2)),            # several chunks on the pool
    ((6, 6, 9, 9), (6, 1, 3, 3), dict(padding=1, groups=6, stride=2)),     # depthwise kernels
    ((5, 3, 20, 20), (4, 3, 5, 5), dict(stride=3, dilation=2)),            # wide rows, strided
])
def test_float32_matches_torch(shape, wshape, kw):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(wshape, dtype=np.float32)
    (y,) = check_op(lambda a, b: F.conv2d(a, b, **kw), [x, w], lambda a, b: TF.conv2d(a, b, **kw),
                    grad_inputs=[0, 1], gradcheck=False, rtol=1e-4, atol=1e-3)
    assert y.dtype == minigrad.float32


@pytest.mark.parametrize("K,kw", [(3, {}), (3, dict(stride=2, padding=1)), (3, dict(groups=2)), (1, {}),
                                  (3, dict(groups=4))])
def test_empty_batch_forward_and_backward(K, kw):
    """A batch of 0 samples (the tail of a split, a filtered batch) gives an empty output, as in PyTorch,
    and a zero weight gradient."""
    rng = np.random.default_rng(0)
    wa = rng.standard_normal((4, 4 // kw.get("groups", 1), K, K))
    x = minigrad.tensor(np.zeros((0, 4, 5, 5)), requires_grad=True)
    w = minigrad.tensor(wa, requires_grad=True)
    y = F.conv2d(x, w, **kw)
    assert y.shape[0] == 0 and y.numel() == 0
    if torch is not None:
        assert tuple(y.shape) == tuple(TF.conv2d(torch.zeros(0, 4, 5, 5, dtype=torch.float64),
                                                 torch.tensor(wa), **kw).shape)
    y.sum().backward()
    assert x.grad.shape == (0, 4, 5, 5)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros_like(wa))
    z = F.conv_transpose2d(minigrad.tensor(np.zeros((0, 4, 5, 5))), w.detach())
    assert z.shape[0] == 0


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_max_pool2d",
                                "depthwise", "unfold"])
def test_float16_is_computed_in_float32_and_returned_as_float16(op):
    """Numba has no float16: the CPU computes half in float32 and rounds the result once, as PyTorch's CPU
    kernels do; gradients come back in float16 too."""
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal((2, 4, 9, 9)).astype(np.float16).astype(np.float32)
    w32 = rng.standard_normal((4, 1 if op == "depthwise" else 4, 3, 3)).astype(np.float16).astype(np.float32)
    run = {"conv2d": lambda x, w: F.conv2d(x, w, padding=1, stride=2),
           "conv_transpose2d": lambda x, w: F.conv_transpose2d(x, w, stride=2),
           "depthwise": lambda x, w: F.conv2d(x, w, padding=1, groups=4),
           "max_pool2d": lambda x, w: F.max_pool2d(x, 3, 2, padding=1),
           "avg_pool2d": lambda x, w: F.avg_pool2d(x, 3, 2, ceil_mode=True),
           "adaptive_max_pool2d": lambda x, w: F.adaptive_max_pool2d(x, 4),
           "unfold": lambda x, w: F.unfold(x, 3, padding=1)}[op]
    x16 = minigrad.tensor(x32.astype(np.float16), requires_grad=True)
    y16 = run(x16, minigrad.tensor(w32.astype(np.float16)))
    y32 = run(minigrad.tensor(x32), minigrad.tensor(w32))
    assert y16.dtype == minigrad.float16
    np.testing.assert_array_equal(y16.detach().numpy(), y32.numpy().astype(np.float16))
    y16.backward(minigrad.ones_like(y16))
    assert x16.grad.dtype == minigrad.float16 and np.isfinite(x16.grad.numpy()).all()
