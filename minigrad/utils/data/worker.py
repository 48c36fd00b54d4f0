"""The DataLoader's worker processes: each takes (epoch, k, indices, seed) tasks from its own queue and
puts (epoch, k, ok, batch or error) on one shared result queue.

The parent never blocks for long: it waits on the result queue in short slices and between them checks
that every worker is alive (a worker killed by the OOM killer or a crash in C code is an error naming the
worker, its pid and its exit code or signal, not a hang) and, with ``timeout``, how long the batch has
taken. A worker stops when the parent tells it to, or when its parent has gone.

The parent never reads the result pipe once it has told the workers to stop. A stopping worker exits
without waiting for its queue's feeder thread, which may be halfway through writing a batch (a batch is
larger than the pipe's buffer); the parent holds the pipe's write end too, so reading that half message
would block forever with the workers already exited (two zombies and an idle parent). The same holds for
a worker killed by a signal: what it was writing is not read.
"""
import os
import pickle
import queue
import signal
import time
import traceback
from dataclasses import dataclass

_POLL = 0.1            # seconds between liveness checks while waiting for a batch
_SHUTDOWN_GRACE = 5.0  # seconds a worker has to finish its batch and exit before it is terminated


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker process (as ``torch.utils.data``)."""
    id: int
    num_workers: int
    seed: int
    dataset: object


_info = None    # set in each worker process


def get_worker_info():
    """In a DataLoader worker process: its :class:`WorkerInfo` (``id``, ``num_workers``, ``seed``,
    ``dataset``, the worker's copy); in the main process: None, as in PyTorch."""
    return _info


class WorkerError:
    """An exception raised in a worker, carried to the parent with its traceback text (the exception
    itself may not pickle)."""

    def __init__(self, exc, where):
        try:
            pickle.dumps(type(exc))
            self.type = type(exc)
        except Exception:   # a class the parent could not look up
            self.type = RuntimeError
        self.where = where
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        message = f"Caught {self.type.__name__} in {self.where}.\nOriginal {self.text}"
        try:
            exc = self.type(message)
        except Exception:   # an exception class that needs other arguments
            exc = RuntimeError(message)
        raise exc


def _loop(load, wid, num_workers, seed, dataset, worker_init_fn, tasks, results, parent):
    global _info
    _info = WorkerInfo(wid, num_workers, seed, dataset)
    try:
        if worker_init_fn is not None:
            worker_init_fn(wid)
    except Exception as exc:
        results.put((None, None, False, WorkerError(exc, f"worker_init_fn of DataLoader worker {wid}")))
        return      # exiting flushes the queue: the parent reads the error before it sees the exit
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:      # the parent died without telling us
                break
            continue
        if task is None:
            break
        epoch, k, indices, batch_seed = task
        try:
            item = (epoch, k, True, load(batch_seed, k, indices))
        except Exception as exc:
            item = (epoch, k, False, WorkerError(exc, f"DataLoader worker process {wid}"))
        results.put(item)
    results.cancel_join_thread()     # exit even if the parent no longer reads what is still queued


def _describe_exit(code):
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class WorkerPool:
    """``num_workers`` processes preparing batches with ``load(seed, k, indices)``; started with fork
    where the platform has it (the dataset and transforms need not pickle), else spawn."""

    def __init__(self, load, num_workers, worker_init_fn, dataset, seed):
        import multiprocessing
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(num_workers)]
        self.workers = []
        self._next = 0
        try:
            for wid, tasks in enumerate(self.tasks):
                w = ctx.Process(target=_loop, name=f"minigrad-dataloader-{wid}", daemon=True,
                                args=(load, wid, num_workers, seed + wid, dataset, worker_init_fn, tasks,
                                      self.results, os.getpid()))
                w.start()
                self.workers.append(w)
        except BaseException:
            self.shutdown()
            raise

    def submit(self, epoch, k, indices, seed):
        """Queue batch k with the next worker in turn."""
        self.tasks[self._next].put((epoch, k, indices, seed))
        self._next = (self._next + 1) % len(self.tasks)

    def get(self, timeout=0):
        """The next (epoch, k, ok, value) any worker finished. Raises RuntimeError when a worker has died,
        or, with ``timeout`` > 0, when nothing came for that many seconds."""
        start = time.monotonic()
        while True:
            item = self._receive()
            if item is None:
                dead = [(wid, w) for wid, w in enumerate(self.workers) if w.exitcode is not None]
                if dead:
                    # A worker that exited by itself (worker_init_fn failed) flushed its error into the pipe
                    # first; one killed by a signal may have left half a message there, never to be read.
                    if all(w.exitcode >= 0 for _, w in dead):
                        item = self._receive()
                    if item is None:
                        wid, w = dead[0]
                        raise RuntimeError(f"DataLoader worker {wid} (pid {w.pid}) exited unexpectedly "
                                           f"({_describe_exit(w.exitcode)}); if it ran out of memory, use "
                                           f"fewer workers or smaller batches")
            if item is not None:
                if item[0] is None:       # worker_init_fn failed
                    item[3].reraise()
                return item
            if timeout and time.monotonic() - start > timeout:
                raise RuntimeError(f"DataLoader timed out after {timeout:g} seconds waiting for a batch from "
                                   f"its {len(self.workers)} worker(s)")

    def _receive(self):
        try:
            return self.results.get(timeout=_POLL)
        except queue.Empty:
            return None

    def shutdown(self, grace=_SHUTDOWN_GRACE):
        """Tell the workers to stop, give them ``grace`` seconds to finish, then terminate any that do not."""
        for tasks in self.tasks:
            try:
                tasks.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + grace
        for w in self.workers:      # a worker never blocks on a full result pipe: its feeder thread writes
            w.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
                w.join(timeout=1.0)
            if w.is_alive():
                w.kill()
                w.join()
        self.workers = []
        for q in (*self.tasks, self.results):
            q.cancel_join_thread()
            q.close()
        self.tasks = []
