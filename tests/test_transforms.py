"""minigrad.transforms: properties (flip twice, crop contains the original, Normalize inverse,
seeded determinism), batch == per-sample, and torch semantics for ToTensor / Normalize / Pad."""
import colorsys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad
import minigrad.transforms as T
from minigrad.utils.data._random import batch_rng


def images(shape, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape).astype(dtype)


# ------------------------------------------------------------------------------------------ ToTensor

@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (6, 4, 1)])
def test_totensor_matches_torch(shape):
    torch = pytest.importorskip("torch")
    x = images(shape)
    ref = torch.from_numpy(x if x.ndim == 3 else x[:, :, None]).permute(2, 0, 1).float().div(255)
    y = T.ToTensor()(x)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_array_equal(y, ref.numpy())  # bit-identical: both divide in float32


def test_totensor_batch_equals_per_sample_and_range():
    x = images((4, 6, 5, 3))
    yb = T.ToTensor().apply_batch(x)
    assert yb.shape == (4, 3, 6, 5) and 0 <= yb.min() and yb.max() <= 1
    np.testing.assert_array_equal(yb, np.stack([T.ToTensor()(xi) for xi in x]))
    assert T.ToTensor().apply_batch(images((4, 6, 5))).shape == (4, 1, 6, 5)


def test_totensor_float_input_only_moves_channels():
    x = images((4, 5, 3), dtype=np.float64)
    y = T.ToTensor()(x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, x.transpose(2, 0, 1))


def test_totensor_rejects_bad_rank():
    with pytest.raises(ValueError, match="HW or HWC"):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))


# ----------------------------------------------------------------------------------------- Normalize

def test_normalize_matches_formula_and_inverts():
    x = images((4, 3, 5, 5), dtype=np.float32)
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    y = T.Normalize(mean, std).apply_batch(x)
    m, s = np.array(mean, np.float32)[:, None, None], np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(y, (x - m) / s, rtol=1e-6)
    np.testing.assert_allclose(y * s + m, x, atol=1e-6)
    assert y.dtype == np.float32
    np.testing.assert_allclose(T.Normalize(mean, std)(x[0]), y[0], rtol=1e-6)  # CHW too
    hw = x[0, 0]
    np.testing.assert_allclose(T.Normalize([0.5], [0.25])(hw), (hw - 0.5) / 0.25, rtol=1e-6)  # HW: one channel


def test_normalize_inplace_and_errors():
    x = images((2, 1, 3, 3), dtype=np.float32)
    x0 = x.copy()
    out = T.Normalize([0.5], [0.25], inplace=True).apply_batch(x)
    assert out is x and np.allclose(x, (x0 - 0.5) / 0.25)
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize([0.5], [0.0])
    with pytest.raises(ValueError, match="3 channels"):
        T.Normalize([0.1, 0.2], [1, 1]).apply_batch(images((1, 3, 2, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="float"):
        T.Normalize([0.1], [1])(images((1, 2, 2)))


# ------------------------------------------------------------------------------------------ Pad, crops

@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                             ("reflect", "reflect"), ("symmetric", None)])
def test_pad_modes_match_torch(mode, torch_mode):
    torch = pytest.importorskip("torch")
    x = images((2, 3, 6, 5), dtype=np.float32)
    y = T.Pad((1, 2, 3, 4), fill=0, padding_mode=mode).apply_batch(x)  # left, top, right, bottom
    assert y.shape == (2, 3, 6 + 2 + 4, 5 + 1 + 3)
    if torch_mode is not None:
        ref = torch.nn.functional.pad(torch.from_numpy(x), (1, 3, 2, 4), mode=torch_mode)
        np.testing.assert_array_equal(y, ref.numpy())
    else:
        np.testing.assert_array_equal(y, np.pad(x, [(0, 0), (0, 0), (2, 4), (1, 3)], mode="symmetric"))


def test_pad_forms_and_fill():
    x = images((5, 5))
    assert T.Pad(2)(x).shape == (9, 9)
    assert T.Pad((1, 2))(x).shape == (9, 7)  # (left/right, top/bottom)
    y = T.Pad(1, fill=7)(x)
    assert (y[0] == 7).all() and (y[:, -1] == 7).all() and (y[1:-1, 1:-1] == x).all()
    with pytest.raises(ValueError, match="padding_mode"):
        T.Pad(1, padding_mode="wrap")


def _find_window(big, small):
    """All (i, j) where `small` (..., h, w) equals big[..., i:i+h, j:j+w]."""
    h, w = small.shape[-2:]
    H, W = big.shape[-2:]
    return [(i, j) for i in range(H - h + 1) for j in range(W - w + 1)
            if np.array_equal(big[..., i:i + h, j:j + w], small)]


@settings(max_examples=25, deadline=None)
@given(H=st.integers(3, 9), W=st.integers(3, 9), p=st.integers(0, 3), seed=st.integers(0, 2**32 - 1),
       mode=st.sampled_from(["constant", "edge", "reflect", "symmetric"]))
def test_randomcrop_is_a_window_of_the_padded_image(H, W, p, seed, mode):
    if mode == "reflect" and p >= min(H, W):
        return
    x = images((4, 2, H, W), seed=seed % 1000)
    y = T.RandomCrop((H, W), padding=p, padding_mode=mode, generator=seed).apply_batch(x)
    padded = T.Pad(p, padding_mode=mode).apply_batch(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    for n in range(len(x)):
        assert _find_window(padded[n], y[n]), "the crop is no window of the padded image"


@settings(max_examples=20, deadline=None)
@given(H=st.integers(2, 8), W=st.integers(2, 8), p=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_crop_of_padded_image_contains_the_original(H, W, p, seed):
    # A crop of size (H + p, W + p) out of the p-padded image always contains all of the original.
    x = images((3, 1, H, W), seed=seed % 1000) + 1  # no zeros: the zero padding is distinguishable
    x[x == 0] = 1
    y = T.RandomCrop((H + p, W + p), padding=p, generator=seed).apply_batch(x)
    for n in range(len(x)):
        assert _find_window(y[n], x[n])


def test_randomcrop_seeded_and_per_sample():
    x = np.broadcast_to(images((1, 3, 8, 8)), (64, 3, 8, 8))
    a = T.RandomCrop(8, padding=4, generator=1).apply_batch(x)
    b = T.RandomCrop(8, padding=4, generator=1).apply_batch(x)
    c = T.RandomCrop(8, padding=4, generator=2).apply_batch(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len({a[n].tobytes() for n in range(64)}) > 20  # each sample has its own window


def test_randomcrop_single_hw_and_errors():
    x = images((6, 6))
    assert T.RandomCrop(4, generator=0)(x).shape == (4, 4)
    assert T.RandomCrop(8, pad_if_needed=True, generator=0)(x).shape == (8, 8)
    with pytest.raises(ValueError, match="larger than"):
        T.RandomCrop(8, generator=0)(x)


@pytest.mark.parametrize("H,W,h,w", [(8, 8, 4, 4), (7, 9, 4, 5), (5, 5, 5, 5), (4, 3, 6, 7)])
def test_centercrop(H, W, h, w):
    x = images((2, 3, H, W)) | 1
    y = T.CenterCrop((h, w)).apply_batch(x)
    assert y.shape == (2, 3, h, w)
    if h <= H and w <= W:
        top, left = int(round((H - h) / 2)), int(round((W - w) / 2))
        np.testing.assert_array_equal(y, x[..., top:top + h, left:left + w])
    else:  # zero-padded, the original in the middle
        assert _find_window(y[0], x[0])
    np.testing.assert_array_equal(T.CenterCrop((h, w))(x[0]), y[0])


# ------------------------------------------------------------------------------------------------ flip

def test_flip_p1_p0():
    x = images((3, 2, 4, 5))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0).apply_batch(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0).apply_batch(x), x)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.floats(0, 1))
def test_flip_twice_with_the_same_seed_is_identity(seed, p):
    x = images((16, 3, 4, 5), seed=seed % 100)
    once = T.RandomHorizontalFlip(p, generator=seed).apply_batch(x)
    twice = T.RandomHorizontalFlip(p, generator=seed).apply_batch(once)
    np.testing.assert_array_equal(twice, x)
    for n in range(len(x)):  # every sample is either itself or its mirror image
        assert np.array_equal(once[n], x[n]) or np.array_equal(once[n], x[n, ..., ::-1])


def test_flip_rate():
    x = np.arange(2 * 4000).reshape(4000, 1, 1, 2)
    y = T.RandomHorizontalFlip(0.3, generator=0).apply_batch(x)
    assert 0.27 < (y[:, 0, 0, 0] == 1 + 2 * np.arange(4000)).mean() < 0.33


# ---------------------------------------------------------------------------------------- ColorJitter

def test_hsv_roundtrip_and_colorsys():
    x = images((2, 3, 6, 7), dtype=np.float64)
    hsv = T.rgb_to_hsv(x)
    np.testing.assert_allclose(T.hsv_to_rgb(hsv), x, atol=1e-12)
    for (r, g, b), (h, s, v) in zip(x[0].reshape(3, -1).T[:20], hsv[0].reshape(3, -1).T[:20]):
        np.testing.assert_allclose((h, s, v), colorsys.rgb_to_hsv(r, g, b), atol=1e-12)
    hsv = images((1, 3, 5, 5), seed=1, dtype=np.float64)
    rgb = T.hsv_to_rgb(hsv)
    for (h, s, v), (r, g, b) in zip(hsv[0].reshape(3, -1).T, rgb[0].reshape(3, -1).T):
        np.testing.assert_allclose((r, g, b), colorsys.hsv_to_rgb(h, s, v), atol=1e-12)


def test_colorjitter_identity_and_range():
    x = images((5, 3, 4, 4), dtype=np.float32)
    np.testing.assert_array_equal(T.ColorJitter().apply_batch(x), x)
    y = T.ColorJitter(0.8, 0.8, 0.8, 0.5, generator=0).apply_batch(x)
    assert y.shape == x.shape and y.dtype == np.float32 and 0 <= y.min() and y.max() <= 1
    assert not np.allclose(y, x)


def test_colorjitter_brightness_scales_each_image_by_one_factor():
    x = images((50, 3, 4, 4), dtype=np.float32) * 0.5  # no clipping for factors <= 2
    y = T.ColorJitter(brightness=0.4, generator=3).apply_batch(x)
    ratio = y / x
    f = ratio.reshape(50, -1)
    np.testing.assert_allclose(f, f[:, :1].repeat(f.shape[1], 1), rtol=1e-5)
    assert (0.6 <= f).all() and (f <= 1.4).all() and f[:, 0].std() > 0.05


def test_colorjitter_saturation_zero_gives_grayscale_and_hue_keeps_gray():
    x = images((3, 3, 4, 4), dtype=np.float32)
    y = T.ColorJitter(saturation=(0, 0.0), generator=0).apply_batch(x)
    np.testing.assert_allclose(y[:, 0], y[:, 1], atol=1e-6)
    np.testing.assert_allclose(y[:, 0], 0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2], atol=1e-6)
    gray = np.repeat(x[:, :1], 3, axis=1)
    np.testing.assert_allclose(T.ColorJitter(hue=0.5, generator=0).apply_batch(gray), gray, atol=1e-6)


def test_colorjitter_seeded_uint8_and_errors():
    x = images((4, 3, 5, 5))
    a = T.ColorJitter(0.5, 0.5, 0.5, 0.2, generator=7).apply_batch(x)
    b = T.ColorJitter(0.5, 0.5, 0.5, 0.2, generator=7).apply_batch(x)
    assert a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-1)


# ------------------------------------------------------------------------------------------- Lighting

def test_lighting_adds_the_pca_offset():
    x = images((6, 3, 4, 5), dtype=np.float32)
    y = T.Lighting(0.1, generator=5).apply_batch(x)
    alpha = np.random.default_rng(5).normal(0, 0.1, (6, 3))
    ev, evec = T.IMAGENET_PCA["eigval"], T.IMAGENET_PCA["eigvec"]
    expected = np.stack([evec @ (a * ev) for a in alpha])  # AlexNet: [p1 p2 p3][a1 l1, a2 l2, a3 l3]^T
    np.testing.assert_allclose(y - x, np.broadcast_to(expected[:, :, None, None], x.shape), atol=1e-6)
    np.testing.assert_array_equal(T.Lighting(0.0).apply_batch(x), x)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        T.Lighting()(images((1, 4, 4), dtype=np.float32))


# -------------------------------------------------------------------------------- Compose, generators

def _augment(generator=None):
    return T.Compose([T.ToTensor(), T.RandomCrop(6, padding=2, generator=generator),
                      T.RandomHorizontalFlip(generator=generator),
                      T.ColorJitter(0.3, 0.3, 0.3, 0.05, generator=generator),
                      T.Lighting(generator=generator), T.Normalize([0.5] * 3, [0.25] * 3)])


def test_compose_deterministic_batch_equals_per_sample():
    x = images((5, 8, 8, 3))
    t = T.Compose([T.ToTensor(), T.Pad(1, padding_mode="reflect"), T.CenterCrop(7), T.Normalize([0.5], [0.2])])
    np.testing.assert_allclose(t.apply_batch(x), np.stack([t(xi) for xi in x]), rtol=1e-6)


def test_compose_with_a_plain_function_falls_back_to_per_sample():
    x = images((3, 4, 4))
    t = T.Compose([T.ToTensor(), lambda im: im * 2])
    np.testing.assert_allclose(t.apply_batch(x), 2 * T.ToTensor().apply_batch(x))
    lam = T.Lambda(lambda b: b + 1, batched=True)
    np.testing.assert_array_equal(lam.apply_batch(x), x + 1)


def test_seeded_pipeline_is_reproducible_with_every_generator_kind():
    x = images((8, 8, 8, 3))
    np.testing.assert_array_equal(_augment(11).apply_batch(x), _augment(11).apply_batch(x))  # own streams
    ref = _augment(np.random.default_rng(11)).apply_batch(x)  # one stream shared by all transforms
    g = minigrad.Generator().manual_seed(11)
    np.testing.assert_array_equal(_augment(g).apply_batch(x), ref)
    minigrad.manual_seed(3)
    a = _augment().apply_batch(x)
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(_augment().apply_batch(x), a)
    with batch_rng(np.random.default_rng(11)):  # the DataLoader's per-batch stream
        np.testing.assert_array_equal(_augment().apply_batch(x), ref)
    with pytest.raises(TypeError, match="generator"):
        T.RandomCrop(4, generator="seed")
