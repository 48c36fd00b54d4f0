"""DataLoader: batches of minigrad Tensors, seeded shuffling, a prefetch thread that never changes results."""
import copy
import functools
import math
import queue
import threading
from collections.abc import Mapping

import numpy as np

from ... import backend
from ...tensor import Tensor
from ._random import batch_rng, numpy_rng, stored


def _as_tensor(array):
    """Wrap a NumPy/CuPy array as a minigrad Tensor, without a copy."""
    return Tensor(array)


def _is_tensor(x):
    return isinstance(x, Tensor)


def default_convert(batch):
    """Turn the arrays inside an already-stacked batch (array, tuple, list or dict) into Tensors."""
    if _is_tensor(batch):
        return batch
    if isinstance(batch, np.ndarray) or backend.is_cupy_array(batch):
        return _as_tensor(batch)
    if isinstance(batch, Mapping):
        return {k: default_convert(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(default_convert(v) for v in batch)
    return batch


def _stack(samples):
    elem = samples[0]
    if _is_tensor(elem):
        arrays = [s.array for s in samples]
        return backend.xp_of(arrays[0]).stack(arrays)
    if isinstance(elem, (bool, np.bool_)):
        return np.array(samples, dtype=np.bool_)
    if isinstance(elem, (int, np.integer)) and not isinstance(elem, np.generic):
        return np.array(samples, dtype=np.int64)
    if isinstance(elem, float):
        return np.array(samples, dtype=np.float32)
    return np.stack([np.asarray(s) for s in samples])


def default_collate(samples):
    """Stack a list of samples into a batch of Tensors with a leading batch dimension N.

    Arrays and Tensors are stacked (dtype kept); Python ints become int64, Python floats float32
    (PyTorch: float64); tuples, lists and dicts are collated field by field (a tuple stays a tuple;
    PyTorch returns a list); strings are returned as a list.
    """
    elem = samples[0]
    if isinstance(elem, (str, bytes)):
        return list(samples)
    if isinstance(elem, Mapping):
        return {k: default_collate([s[k] for s in samples]) for k in elem}
    if isinstance(elem, (tuple, list)):
        if any(len(s) != len(elem) for s in samples):
            raise RuntimeError("each element in the list of samples must be of equal size; "
                               f"got sizes {sorted({len(s) for s in samples})}")
        return type(elem)(default_collate(list(field)) for field in zip(*samples))
    return _as_tensor(_stack(samples))


def _fetch(dataset, collate_fn, indices):
    """One batch: ``dataset.get_batch`` when there is one and no custom collate_fn, else item by item."""
    if collate_fn is None:
        get = getattr(dataset, "get_batch", None)
        if get is not None:
            batch = get(indices)
            if batch is not NotImplemented:
                return default_convert(batch)
        collate_fn = default_collate
    return collate_fn([dataset[int(i)] for i in indices])


def _to_device(batch, device):
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _load(dataset, collate_fn, device, seed, k, indices):
    # Batch k draws its augmentation from its own stream, so results do not depend on which thread
    # prepares it, or when.
    with batch_rng(np.random.default_rng([seed, k])):
        batch = _fetch(dataset, collate_fn, indices)
    return batch if device is None else _to_device(batch, device)


_END = object()


def _producer(load, batches, q, stop, start):
    """Background thread: prepare batches in order and put (ok, value) into q until done or stopped."""
    def put(item):
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    try:
        for k in range(start, len(batches)):
            if stop.is_set() or not put((True, load(k, batches[k]))):
                return
    except BaseException as e:  # handed to the consumer, which re-raises it
        put((False, e))
        return
    put((True, _END))


class _DataLoaderIter:
    """One pass over the loader. With prefetch > 0 a daemon thread keeps up to ``prefetch`` batches
    ready; ``close()`` (also called on exhaustion, on error and when the iterator is garbage
    collected, e.g. after ``break``) stops and joins it."""

    def __init__(self, load, batches, prefetch, start=0, progress=None):
        self._load, self._batches, self._k = load, batches, start
        self._progress = progress  # a one-element list the loader reads for state_dict()
        self._thread = None
        if prefetch > 0 and batches:
            self._queue = queue.Queue(maxsize=prefetch)
            self._stop = threading.Event()
            # The thread gets only what it needs, never self: the iterator stays collectable.
            self._thread = threading.Thread(target=_producer, name="minigrad-DataLoader-prefetch",
                                            args=(load, batches, self._queue, self._stop, start), daemon=True)
            self._thread.start()
        self._done = start >= len(batches)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._batches)

    def _advance(self):
        self._k += 1
        if self._progress is not None:
            self._progress[0] = self._k

    def __next__(self):
        if self._done:
            raise StopIteration
        if self._thread is None:
            if self._k >= len(self._batches):
                self._done = True
                raise StopIteration
            batch = self._load(self._k, self._batches[self._k])
            self._advance()
            return batch
        while True:
            try:
                ok, item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self.close()
                    raise RuntimeError("DataLoader prefetch thread exited without finishing") from None
        if not ok:
            self.close()
            raise item
        if item is _END:
            self.close()
            raise StopIteration
        self._advance()
        return item

    def close(self):
        """Stop the prefetch thread (if any) and wait for it; the iterator then yields nothing more."""
        self._done = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            while thread.is_alive():
                try:  # unblock a producer waiting on a full queue
                    while True:
                        self._queue.get_nowait()
                except queue.Empty:
                    pass
                thread.join(timeout=0.05)

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - never raise from a finaliser
            pass


class DataLoader:
    """Iterate over ``dataset`` in batches of minigrad Tensors (leading batch dimension N).

    ``shuffle``: a new permutation each epoch, drawn from ``generator`` (None: minigrad's global
    generator; an int seed: a NumPy Generator made once here, so epochs differ but runs repeat; a
    numpy Generator; a minigrad.Generator). Each epoch also draws one seed from it, from which batch k
    gets its own augmentation stream, used by transforms that have no generator of their own.
    ``prefetch``: how many batches a background thread prepares ahead (0: none); results are the same
    either way. ``device``: move each batch there in the loader (in the prefetch thread, if any).
    ``state_dict()`` / ``load_state_dict()`` save and restore where the loader is (its generator's
    state at the start of the epoch and the batches already yielded), so a resumed run sees the same
    batches. Datasets with ``get_batch(indices)`` (all minigrad datasets, TensorDataset) are batched
    in one vectorised call and their transforms applied to the whole batch; others go item by item
    through ``collate_fn`` (default ``default_collate``). Differences from PyTorch: no worker
    processes (``num_workers``); ``sampler=`` takes any iterable of indices with a ``len()``
    (``DistributedSampler``), there is no ``batch_sampler``; ``prefetch``, ``device``, ``generator=int`` and the
    state dict (as torchdata's StatefulDataLoader) are minigrad's.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 collate_fn=None, prefetch=2, device=None, sampler=None):
        if batch_size is None or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if int(prefetch) != prefetch or prefetch < 0:
            raise ValueError(f"prefetch must be a non-negative int, got {prefetch!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle (the sampler orders "
                             "the indices: DistributedSampler(dataset, shuffle=True))")
        self.dataset = dataset
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.prefetch = int(prefetch)
        self.device = device
        self._generator = stored(generator)
        self._epoch_state = None   # generator state before the current epoch's draws
        self._progress = [0]       # batches yielded in the current epoch
        self._resume_at = 0

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batch_indices(self, rng):
        """The epoch's index batches (int64 arrays), drawn from ``rng``."""
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        elif self.shuffle:
            order = rng.permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset), dtype=np.int64)
        stops = range(0, len(self) * self.batch_size, self.batch_size)
        return [order[i:i + self.batch_size] for i in stops]

    def __iter__(self):
        rng = numpy_rng(self._generator)
        self._epoch_state = copy.deepcopy(rng.bit_generator.state)
        batches = self.batch_indices(rng)
        seed = int(rng.integers(2**63))
        load = functools.partial(_load, self.dataset, self.collate_fn, self.device, seed)
        start, self._resume_at = self._resume_at, 0
        self._progress = [start]
        return _DataLoaderIter(load, batches, self.prefetch, start, self._progress)

    def state_dict(self):
        """Where the loader is: its generator's state before the current epoch (or now, between
        epochs) and how many batches of the epoch were yielded. With ``generator=None`` this is
        minigrad's global generator, which other code also draws from: give the loader its own
        generator for exact resumption."""
        rng = numpy_rng(self._generator)
        in_epoch = self._epoch_state is not None and self._progress[0] < len(self)
        state = self._epoch_state if in_epoch else rng.bit_generator.state
        return {"generator_state": copy.deepcopy(state), "batches_done": self._progress[0] if in_epoch else 0}

    def load_state_dict(self, state):
        """Restore ``state_dict()``: the next ``iter(loader)`` continues from there."""
        numpy_rng(self._generator).bit_generator.state = copy.deepcopy(state["generator_state"])
        self._resume_at = int(state["batches_done"])

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__}(n={len(self.dataset)}), "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"prefetch={self.prefetch})")
