"""Datasets: the map-style ``Dataset`` protocol, ``TensorDataset``, ``Subset``, ``random_split``.

Batched fetching (minigrad-specific): a dataset may define ``get_batch(indices)``, taking an int64
array of indices and returning the whole batch at once as a tuple of stacked arrays (or
``NotImplemented``). The DataLoader uses it instead of one ``dataset[i]`` call per sample, so
datasets that hold their data as arrays are batched by one fancy-indexing operation.
"""
import math

import numpy as np

from ._random import numpy_rng


def apply_batch(transform, x):
    """Apply ``transform`` to every sample of the batch ``x`` (leading axis N).

    A transform that declares ``batched = True`` gets the whole batch in one ``apply_batch(x)`` call
    (vectorised, independent random parameters per sample); any other callable is applied sample by
    sample and the results are stacked.
    """
    if getattr(transform, "batched", False):
        return transform.apply_batch(x)
    return np.stack([np.asarray(transform(xi)) for xi in x])


def _raw(t):
    """The raw array behind a minigrad Tensor, or the object itself."""
    from ...tensor import Tensor
    return t.array if isinstance(t, Tensor) else t


class Dataset:
    """Map-style dataset: subclasses define ``__getitem__(i)`` and ``__len__()`` (as in PyTorch).

    ``a + b`` concatenates two datasets.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class ArrayDataset(Dataset):
    """Dataset held as arrays: ``data`` (N, ...) and ``targets`` (N,), with optional transforms.

    ``ds[i]`` returns ``(transform(data[i]), target_transform(targets[i]))`` with the target as a
    Python int; ``ds.get_batch(idx)`` returns ``(data[idx], targets[idx])`` with the transforms
    applied to the whole batch (see ``apply_batch``). Base class of MNIST, CIFAR10, ... (minigrad-specific).
    """

    def __init__(self, data, targets, transform=None, target_transform=None):
        if len(data) != len(targets):
            raise ValueError(f"data and targets differ in length: {len(data)} vs {len(targets)}")
        self.data = data
        self.targets = targets
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        x, y = self.data[index], self.targets[index]
        y = y.item() if isinstance(y, np.generic) else y
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def get_batch(self, indices):
        x, y = self.data[indices], self.targets[indices]
        if self.transform is not None:
            x = apply_batch(self.transform, x)
        if self.target_transform is not None:
            y = apply_batch(self.target_transform, y)
        return x, y

    def __repr__(self):
        return (f"{type(self).__name__}(n={len(self)}, data={tuple(self.data.shape)} {self.data.dtype}, "
                f"transform={self.transform!r})")


class TensorDataset(Dataset):
    """Dataset wrapping tensors (minigrad Tensors or arrays) that share their first dimension N.

    ``ds[i]`` is ``tuple(t[i] for t in tensors)``; batches are taken by fancy-indexing each tensor.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [len(t) for t in tensors]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"Size mismatch between tensors: first dimensions {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])

    def get_batch(self, indices):
        return tuple(_raw(t)[indices] for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (a sequence of ints), in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(i)] for i in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)

    def get_batch(self, indices):
        get = getattr(self.dataset, "get_batch", None)
        return NotImplemented if get is None else get(self.indices[indices])


class ConcatDataset(Dataset):
    """The concatenation of several datasets."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1] if self.cumulative_sizes else 0

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for ConcatDataset of length {len(self)}")
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][index - start]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are ints summing to ``len(dataset)`` or fractions summing to 1; as in PyTorch, the
    floor of each fraction is taken and the remainder is given out one by one from the first split.
    ``generator``: None, an int seed, a numpy Generator or a minigrad.Generator.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(f, float) for f in lengths) and math.isclose(sum(lengths), 1.0):
        if any(f < 0 or f > 1 for f in lengths):
            raise ValueError(f"fractions must lie in [0, 1], got {lengths}")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(k) != k or k < 0 for k in lengths):
        raise ValueError(f"lengths must be non-negative ints or fractions summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n})")
    perm = numpy_rng(generator).permutation(n)
    bounds = np.cumsum([0] + [int(k) for k in lengths])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
