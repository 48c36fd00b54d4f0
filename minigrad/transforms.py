"""Image transforms on NumPy arrays, vectorised over a batch (``minigrad.transforms``).

Every transform is called on one sample, ``t(x)``, or on a whole batch with a leading axis N,
``t.apply_batch(x)``; ``batched = True`` tells the DataLoader it may use the second form (random
transforms then draw independent parameters for every sample). Layouts: ``ToTensor`` takes uint8
HW / HWC (batch NHW / NHWC) and returns float32 CHW (NCHW); the others work on the last two axes
(H, W), channels at axis -3, so they accept HW, CHW and NCHW, any dtype unless noted.
Differences from torchvision: inputs and outputs are NumPy arrays (no PIL, and ToTensor returns an
array: the DataLoader makes the Tensors); random transforms take ``generator=`` (None: the
DataLoader's per-batch stream, else minigrad's global generator; or an int seed, a numpy Generator
or a minigrad.Generator).
"""
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .utils.data._random import stored, transform_rng
from .utils.data.dataset import apply_batch

__all__ = ["Transform", "Compose", "Lambda", "ToTensor", "Normalize", "Pad", "RandomCrop", "CenterCrop",
           "RandomHorizontalFlip", "ColorJitter", "Lighting", "IMAGENET_PCA"]

# AlexNet's PCA colour augmentation: eigenvalues/eigenvectors of the ImageNet RGB covariance, pixels in
# [0, 1] (the values used by fb.resnet.torch and most PyTorch ImageNet scripts). Columns are eigenvectors.
IMAGENET_PCA = {
    "eigval": np.array([0.2175, 0.0188, 0.0045]),
    "eigvec": np.array([[-0.5675, 0.7192, 0.4009],
                        [-0.5808, -0.0045, -0.8140],
                        [-0.5836, -0.6948, 0.4203]]),
}


class Transform:
    """Base class: subclasses write ``apply_batch(x)`` for a batch; ``t(x)`` runs it on a batch of one."""

    batched = True
    generator = None

    def __call__(self, x):
        return self.apply_batch(np.asarray(x)[None])[0]

    def apply_batch(self, x):
        raise NotImplementedError

    def _rng(self):
        return transform_rng(self.generator)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "generator")
        return f"{type(self).__name__}({args})"


def _pair(size, name):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{name} must be an int or a pair (h, w), got {size!r}")
    return int(size[0]), int(size[1])


def _per_sample(v, x):
    """Reshape a (N,) vector to broadcast against the batch x (N, ...)."""
    return v.reshape((-1,) + (1,) * (x.ndim - 1))


class Compose(Transform):
    """Apply ``transforms`` in order; on a batch, each one is applied batch-wise if it can be,
    else sample by sample."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def apply_batch(self, x):
        for t in self.transforms:
            x = apply_batch(t, x)
        return x

    def __repr__(self):
        return "Compose(" + "".join(f"\n    {t!r}," for t in self.transforms) + "\n)"


class Lambda(Transform):
    """Wrap a function; pass ``batched=True`` if ``fn`` already works on a whole batch (N, ...)."""

    def __init__(self, fn, batched=False):
        self.fn, self.batched = fn, batched

    def __call__(self, x):
        return self.fn(x)

    def apply_batch(self, x):
        return self.fn(x) if self.batched else np.stack([self.fn(xi) for xi in x])


class ToTensor(Transform):
    """uint8 HW / HWC image (batch NHW / NHWC) -> float32 CHW (NCHW) in [0, 1], as ``x / 255``.

    Other dtypes are only moved to CHW, as in torchvision. Returns a NumPy array, not a Tensor.
    """

    def __call__(self, x):
        x = np.asarray(x)
        if x.ndim not in (2, 3):
            raise ValueError(f"ToTensor expects an HW or HWC image, got shape {x.shape}")
        return self.apply_batch(x[None])[0]

    def apply_batch(self, x):
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4:
            x = x.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"ToTensor.apply_batch expects NHW or NHWC, got shape {x.shape}")
        if x.dtype == np.uint8:
            return np.divide(x, np.float32(255), out=np.empty(x.shape, np.float32))  # C-contiguous
        return np.ascontiguousarray(x)


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel (axis -3) of a CHW / NCHW float array."""

    def __init__(self, mean, std, inplace=False):
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if np.any(self.std == 0):
            raise ValueError(f"std evaluated to zero after conversion to float: {self.std}, "
                             "leading to division by zero")
        self.inplace = inplace

    def __call__(self, x):
        return self.apply_batch(x)

    def apply_batch(self, x):
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"Normalize expects a float array (use ToTensor first), got {x.dtype}")
        C = x.shape[-3] if x.ndim >= 3 else 1
        if len(self.mean) not in (1, C) or len(self.std) not in (1, C):
            raise ValueError(f"Normalize has {len(self.mean)} means and {len(self.std)} stds "
                             f"for an array with {C} channels (shape {x.shape})")
        shape = (-1, 1, 1) if x.ndim >= 3 else (-1,)  # an HW image is one channel
        mean, std = self.mean.astype(x.dtype).reshape(shape), self.std.astype(x.dtype).reshape(shape)
        if self.inplace:
            x -= mean
            x /= std
            return x
        return (x - mean) / std


_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _ltrb(padding):
    """torchvision padding -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return tuple(padding * 4)
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(f"padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")


def _pad(x, ltrb, fill, mode):
    left, top, right, bottom = ltrb
    if min(ltrb) < 0:
        raise ValueError(f"padding must be non-negative, got (left, top, right, bottom) = {ltrb}")
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=fill)
    return np.pad(x, widths, mode=_PAD_MODES[mode])


class Pad(Transform):
    """Pad the last two axes (H, W). ``padding``: int, (left/right, top/bottom) or (left, top,
    right, bottom); ``padding_mode``: constant (with ``fill``), edge, reflect or symmetric."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"padding_mode must be one of {sorted(_PAD_MODES)}, got {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = _ltrb(padding), fill, padding_mode

    def __call__(self, x):
        return _pad(np.asarray(x), self.padding, self.fill, self.padding_mode)

    def apply_batch(self, x):
        return _pad(np.asarray(x), self.padding, self.fill, self.padding_mode)


class RandomCrop(Transform):
    """Crop a random ``size`` (h, w) window of the last two axes, after optional padding.

    On a batch every sample gets its own window, gathered in one indexing operation.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant",
                 generator=None):
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"padding_mode must be one of {sorted(_PAD_MODES)}, got {padding_mode!r}")
        self.size = _pair(size, "size")
        self.padding = None if padding is None else _ltrb(padding)
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode
        self.generator = stored(generator)

    def apply_batch(self, x):
        x = np.asarray(x)
        if self.padding is not None:
            x = _pad(x, self.padding, self.fill, self.padding_mode)
        h, w = self.size
        H, W = x.shape[-2:]
        if self.pad_if_needed and (H < h or W < w):
            dw, dh = max(w - W, 0), max(h - H, 0)
            x = _pad(x, (dw, dh, dw, dh), self.fill, self.padding_mode)
            H, W = x.shape[-2:]
        if H < h or W < w:
            raise ValueError(f"RandomCrop size {(h, w)} is larger than the (padded) input {(H, W)}")
        N = x.shape[0]
        rng = self._rng()
        i = rng.integers(0, H - h + 1, size=N)
        j = rng.integers(0, W - w + 1, size=N)
        windows = sliding_window_view(x, (h, w), axis=(-2, -1))  # (N, ..., H-h+1, W-w+1, h, w)
        return windows[np.arange(N), ..., i, j, :, :]


class CenterCrop(Transform):
    """Crop the central ``size`` (h, w) window of the last two axes (zero-padded first if the
    input is smaller); the offset is ``round((H - h) / 2)``, as in torchvision."""

    def __init__(self, size):
        self.size = _pair(size, "size")

    def __call__(self, x):
        return self.apply_batch(np.asarray(x))

    def apply_batch(self, x):
        x = np.asarray(x)
        h, w = self.size
        H, W = x.shape[-2:]
        if h > H or w > W:
            dw, dh = max(w - W, 0), max(h - H, 0)
            x = _pad(x, (dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2), 0, "constant")
            H, W = x.shape[-2:]
        top, left = int(round((H - h) / 2.0)), int(round((W - w) / 2.0))
        return x[..., top:top + h, left:left + w]


class RandomHorizontalFlip(Transform):
    """Flip the last axis (W) with probability ``p``, independently for every sample."""

    def __init__(self, p=0.5, generator=None):
        self.p = p
        self.generator = stored(generator)

    def apply_batch(self, x):
        x = np.asarray(x)
        flip = self._rng().random(x.shape[0]) < self.p
        return np.where(_per_sample(flip, x), x[..., ::-1], x)


def _gray(x):
    """ITU-R 601-2 luma of an (N, C, H, W) array, shape (N, 1, H, W); itself when C == 1."""
    if x.shape[1] == 1:
        return x
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    return (0.2989 * r + 0.587 * g + 0.114 * b)[:, None].astype(x.dtype)


def _blend(x, other, f):
    return np.clip(f * x + (1 - f) * other, 0, 1).astype(x.dtype)


def rgb_to_hsv(x):
    """(..., 3, H, W) RGB in [0, 1] -> HSV, hue in [0, 1) (torchvision's formulas)."""
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    eqc = maxc == minc
    cr = maxc - minc
    s = cr / np.where(eqc, 1, maxc)
    d = np.where(eqc, 1, cr)
    rc, gc, bc = (maxc - r) / d, (maxc - g) / d, (maxc - b) / d
    h = ((maxc == r) * (bc - gc) + ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
         + ((maxc != g) & (maxc != r)) * (4.0 + gc - rc))
    h = np.fmod(h / 6.0 + 1.0, 1.0)
    return np.stack([h, s, maxc], axis=-3).astype(x.dtype)


def hsv_to_rgb(x):
    """Inverse of ``rgb_to_hsv``: channel n in (R, G, B) = v - v s clip(min(k, 4 - k), 0, 1),
    k = (n' + 6 h) mod 6 with n' = 5, 3, 1 (the closed form of the six-sector formula)."""
    h6, s, v = x[..., 0, :, :] * 6, x[..., 1, :, :], x[..., 2, :, :]
    vs = v * s
    out = []
    for n in (5, 3, 1):
        k = np.mod(n + h6, 6)
        out.append(v - vs * np.clip(np.minimum(k, 4 - k), 0, 1))
    return np.stack(out, axis=-3).astype(x.dtype)


def _adjust(op, x, f):
    f = _per_sample(f.astype(x.dtype), x)
    if op == "brightness":
        return _blend(x, 0, f)
    if op == "contrast":
        return _blend(x, _gray(x).mean(axis=(1, 2, 3), keepdims=True), f)
    if op == "saturation":
        return x if x.shape[1] == 1 else _blend(x, _gray(x), f)
    if x.shape[1] == 1:  # hue of a grey image
        return x
    hsv = rgb_to_hsv(x)
    hsv[:, 0] = np.mod(hsv[:, 0] + f[:, 0], 1.0)
    return hsv_to_rgb(hsv)


class ColorJitter(Transform):
    """Randomly change brightness, contrast, saturation and hue of (N)CHW images in [0, 1]
    (uint8 images are converted to [0, 1] and back), in a random order per image.

    ``brightness``/``contrast``/``saturation``: v or (min, max); the factor is uniform in
    [max(0, 1 - v), 1 + v]. ``hue``: h or (min, max) with -0.5 <= min <= max <= 0.5; shift in [-h, h].
    """

    OPS = ("brightness", "contrast", "saturation", "hue")

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, generator=None):
        self.brightness = self._range(brightness, "brightness", 1.0, (0, float("inf")))
        self.contrast = self._range(contrast, "contrast", 1.0, (0, float("inf")))
        self.saturation = self._range(saturation, "saturation", 1.0, (0, float("inf")))
        self.hue = self._range(hue, "hue", 0.0, (-0.5, 0.5))
        self.generator = stored(generator)

    @staticmethod
    def _range(v, name, center, bounds):
        if isinstance(v, numbers.Number):
            if v < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative, got {v}")
            lo, hi = center - v, center + v
            if name != "hue":
                lo = max(lo, 0.0)
        else:
            lo, hi = (float(a) for a in v)
        if not bounds[0] <= lo <= hi <= bounds[1]:
            raise ValueError(f"{name} values should be between {bounds}, got ({lo}, {hi})")
        return None if lo == hi == center else (lo, hi)

    def apply_batch(self, x):
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"ColorJitter.apply_batch expects NCHW, got shape {x.shape}")
        is_uint8 = x.dtype == np.uint8
        out = np.divide(x, np.float32(255), dtype=np.float32) if is_uint8 else x.copy()
        ops = [op for op in self.OPS if getattr(self, op) is not None]
        if ops:
            N, rng = x.shape[0], self._rng()
            factors = {op: rng.uniform(*getattr(self, op), size=N) for op in ops}
            order = np.argsort(rng.random((N, len(ops))), axis=1)  # a random order of ops per image
            for step in range(len(ops)):
                for k, op in enumerate(ops):
                    m = order[:, step] == k
                    if m.any():
                        out[m] = _adjust(op, out[m], factors[op][m])
        return np.round(out * 255).astype(np.uint8) if is_uint8 else out


class Lighting(Transform):
    """AlexNet's PCA colour augmentation: add ``eigvec @ (alpha * eigval)`` to every pixel of a
    3-channel (N)CHW image, ``alpha ~ N(0, alphastd^2)`` per image. Defaults: ImageNet's
    eigenvalues/eigenvectors for pixels in [0, 1] (``IMAGENET_PCA``). No clipping (as fb.resnet.torch)."""

    def __init__(self, alphastd=0.1, eigval=None, eigvec=None, generator=None):
        self.alphastd = alphastd
        self.eigval = IMAGENET_PCA["eigval"] if eigval is None else np.asarray(eigval, dtype=np.float64)
        self.eigvec = IMAGENET_PCA["eigvec"] if eigvec is None else np.asarray(eigvec, dtype=np.float64)
        C = len(self.eigval)
        if self.eigvec.shape != (C, C):
            raise ValueError(f"eigvec must be ({C}, {C}) to match eigval, got {self.eigvec.shape}")
        self.generator = stored(generator)

    def apply_batch(self, x):
        x = np.asarray(x)
        C = len(self.eigval)
        if x.ndim != 4 or x.shape[1] != C:
            raise ValueError(f"Lighting expects (N, {C}, H, W), got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"Lighting expects a float array (use ToTensor first), got {x.dtype}")
        if self.alphastd == 0:
            return x
        alpha = self._rng().normal(0.0, self.alphastd, size=(x.shape[0], C))
        rgb = (alpha * self.eigval) @ self.eigvec.T  # (N, C)
        return x + rgb.astype(x.dtype)[:, :, None, None]
