"""DataLoader: batches of minigrad Tensors, seeded shuffling, a prefetch thread that never changes results."""
import collections
import copy
import functools
import itertools
import math
import queue
import threading
import time
import warnings
from collections.abc import Mapping

import numpy as np

from ... import backend
from ...tensor import Tensor
from ._random import batch_rng, numpy_rng, stored
from .sampler import BatchSampler
from .worker import WorkerPool


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


def _python_number(x):
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def _stack(samples):
    """Stack same-shaped items; the dtype is the result type of all of them, not the first one's."""
    if all(_python_number(s) for s in samples):
        if all(isinstance(s, bool) for s in samples):
            return np.array(samples, dtype=np.bool_)
        dtype = np.float32 if any(isinstance(s, float) for s in samples) else np.int64
        return np.array(samples, dtype=dtype)
    if all(_is_tensor(s) for s in samples):
        arrays = [s.array for s in samples]
    else:
        arrays = [backend.to_numpy(s.array) if _is_tensor(s) else np.asarray(s) for s in samples]
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise RuntimeError(f"default_collate: item {i} of the batch has shape {tuple(a.shape)}, but item 0 has "
                               f"shape {tuple(first)}; items must have equal shapes to be stacked (pad them, or "
                               f"pass a collate_fn)")
    return backend.xp_of(arrays[0]).stack(arrays)     # stacking promotes to the result type


def default_collate(samples):
    """Stack a list of samples into a batch of Tensors with a leading batch dimension N.

    Arrays and Tensors are stacked with NumPy's result type of all items (int32 and float32 items give
    float64; PyTorch's stack gives float32); Python numbers become int64, or float32 when any is a float
    (PyTorch: the first item decides, and a leading Python float gives float64); bools stay bool; items of
    different shapes raise RuntimeError naming the first one that differs. Tuples, lists and dicts are
    collated field by field (a tuple stays a tuple; PyTorch returns a list); strings are returned as a list.
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
_JOIN_TIMEOUT = 1.0   # seconds close() waits for a prefetch thread stuck in the dataset


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
    collected, e.g. after ``break``) stops and joins it. A thread stuck inside the dataset is waited for
    at most ``_JOIN_TIMEOUT`` seconds, then abandoned with a RuntimeWarning (it is a daemon thread, so it
    does not keep the program alive)."""

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
            deadline = time.monotonic() + _JOIN_TIMEOUT
            while thread.is_alive():
                try:  # unblock a producer waiting on a full queue
                    while True:
                        self._queue.get_nowait()
                except queue.Empty:
                    pass
                thread.join(timeout=0.05)
                if thread.is_alive() and time.monotonic() > deadline:
                    warnings.warn(f"DataLoader: the prefetch thread is still preparing a batch {_JOIN_TIMEOUT:g} s "
                                  f"after the iterator was closed (the dataset or a transform does not return); "
                                  f"it is a daemon thread and is abandoned", RuntimeWarning, stacklevel=2)
                    return

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - never raise from a finaliser
            pass


_passes = itertools.count()


class _WorkerIter(_DataLoaderIter):
    """One pass with worker processes: batch k is prepared by a worker (each batch has its own random
    stream, so the results are those of num_workers=0) and batches come back in order, at most
    ``num_workers * prefetch_factor`` in flight. ``close()`` (on exhaustion, error, ``break`` and garbage
    collection) stops the workers, unless they are the loader's persistent ones."""

    def __init__(self, pool, persistent, batches, seed, prefetch_factor, timeout, device, start, progress):
        self._batches, self._k, self._progress, self._device = batches, start, progress, device
        self._thread = None
        self._pool, self._persistent, self._seed, self._timeout = pool, persistent, seed, timeout
        self._epoch = next(_passes)     # tags this pass's tasks; a persistent pool may still hold older ones
        self._ready = {}
        self._done = start >= len(batches)
        self._next_submit = start
        if self._done:
            self.close()
            return
        for _ in range(len(pool.workers) * prefetch_factor):
            self._submit()

    def _submit(self):
        if self._next_submit < len(self._batches):
            k = self._next_submit
            self._pool.submit(self._epoch, k, self._batches[k], self._seed)
            self._next_submit += 1

    def __next__(self):
        if self._done or self._k >= len(self._batches):
            self.close()
            raise StopIteration
        try:
            while self._k not in self._ready:
                epoch, k, ok, value = self._pool.get(self._timeout)
                if epoch == self._epoch:
                    self._ready[k] = (ok, value)
        except BaseException:           # a worker died, the timeout passed, or Ctrl-C: the pool goes
            self.close(broken=True)
            raise
        ok, value = self._ready.pop(self._k)
        if not ok:                      # the dataset raised: the workers are fine
            self.close()
            value.reraise()
        self._submit()
        self._advance()
        return value if self._device is None else _to_device(value, self._device)

    def close(self, broken=False):
        """Stop the workers and wait for them (the loader's persistent workers stay, unless ``broken``);
        the iterator then yields nothing more."""
        self._done = True
        pool, self._pool = getattr(self, "_pool", None), None
        if pool is not None and (broken or not self._persistent):
            pool.shutdown(**({"grace": 0} if broken else {}))


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
    through ``collate_fn`` (default ``default_collate``).

    ``sampler`` (a :class:`Sampler` or any iterable of indices; excludes ``shuffle``) or ``batch_sampler``
    (yields lists of indices; excludes ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``) choose
    the indices as in PyTorch; their randomness comes from their own generators, which ``state_dict()``
    does not hold. ``num_workers=N`` prepares batches in N worker processes (fork where the platform has
    it), ``prefetch_factor`` (default 2) batches each ahead, with the same batches in the same order as
    ``num_workers=0``; ``worker_init_fn(worker_id)`` runs in each and ``get_worker_info()`` tells a
    worker who it is. A worker that dies (killed, out of memory) is a RuntimeError naming it, its pid and
    its exit code or signal, never a hang; ``timeout`` > 0 is how many seconds to wait for one batch from
    the workers before a RuntimeError (it does not apply to ``num_workers=0``, as in PyTorch).
    ``persistent_workers`` keeps the workers between epochs (they hold the dataset as it was when they
    started, as in PyTorch). ``pin_memory`` is accepted and does nothing (batches are made on the CPU). Minigrad's own: ``prefetch``, ``device``, ``generator=int``
    and the state dict (as torchdata's StatefulDataLoader).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 generator=None, *, prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 prefetch=2, device=None):
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
        elif batch_size is None or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if int(prefetch) != prefetch or prefetch < 0:
            raise ValueError(f"prefetch must be a non-negative int, got {prefetch!r}")
        if isinstance(num_workers, bool) or int(num_workers) != num_workers or num_workers < 0:
            raise ValueError(f"num_workers option should be non-negative, got {num_workers!r}")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing: let num_workers > 0")
        if prefetch_factor is not None and (int(prefetch_factor) != prefetch_factor or prefetch_factor < 1):
            raise ValueError(f"prefetch_factor must be a positive int, got {prefetch_factor!r}")
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.prefetch_factor = int(num_workers), int(prefetch_factor or 2)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.worker_init_fn, self.pin_memory, self.timeout = worker_init_fn, bool(pin_memory), float(timeout)
        self.persistent_workers = bool(persistent_workers)
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
        self._workers = None       # the persistent worker pool, once started

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batch_indices(self, rng):
        """The epoch's index batches (int64 arrays), drawn from ``rng`` (or from the samplers)."""
        if self.batch_sampler is not None or self.sampler is not None:
            batches = self.batch_sampler if self.batch_sampler is not None else \
                BatchSampler(self.sampler, self.batch_size, self.drop_last)
            return [np.asarray(b, dtype=np.int64).reshape(-1) for b in batches]
        n = len(self.dataset)
        order = rng.permutation(n) if self.shuffle else np.arange(n, dtype=np.int64)
        stops = range(0, len(self) * self.batch_size, self.batch_size)
        return [order[i:i + self.batch_size] for i in stops]

    def __iter__(self):
        rng = numpy_rng(self._generator)
        self._epoch_state = copy.deepcopy(rng.bit_generator.state)
        batches = self.batch_indices(rng)
        seed = int(rng.integers(2**63))
        start, self._resume_at = self._resume_at, 0
        self._progress = [start]
        if self.num_workers > 0:     # workers make CPU batches; the parent moves them to the device
            return _WorkerIter(self._worker_pool(seed), self.persistent_workers, batches, seed,
                               self.prefetch_factor, self.timeout, self.device, start, self._progress)
        load = functools.partial(_load, self.dataset, self.collate_fn, self.device, seed)
        return _DataLoaderIter(load, batches, self.prefetch, start, self._progress)

    def _worker_pool(self, seed):
        pool = self._workers
        if pool is not None and pool.workers and all(w.is_alive() for w in pool.workers):
            return pool
        if pool is not None:
            pool.shutdown()
        load = functools.partial(_load, self.dataset, self.collate_fn, None)
        pool = WorkerPool(load, self.num_workers, self.worker_init_fn, self.dataset, seed % 2**32)
        self._workers = pool if self.persistent_workers else None
        return pool

    def __del__(self):
        pool, self._workers = getattr(self, "_workers", None), None
        if pool is not None:
            try:
                pool.shutdown()
            except Exception:  # pragma: no cover - never raise from a finaliser
                pass

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
                f"prefetch={self.prefetch}, num_workers={self.num_workers})")
