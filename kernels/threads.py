"""The CPU kernels' thread pool: a convolution's batch chunks run on ``workers()`` threads.

A convolution runs its batch in chunks (im2col, GEMM, col2im per chunk). Threads take whole chunks and
the BLAS runs one thread per GEMM meanwhile: one hand-off per call instead of a fork/join (Numba's and
OpenBLAS's, fighting over the cores) per chunk and per GEMM. On a busy 2-core machine that is the
difference between 30 ms and 700 ms for the same layer. ``threadpoolctl`` (optional) pins the BLAS to one
thread inside the pool.
"""
import contextlib
import os

import numba

_pool = None

# A conv's batch chunk aims at this many bytes of columns: the workspace stays in cache between im2col and
# the GEMM, and an allocation this size is reused by malloc instead of being page-faulted afresh each call.
CHUNK_BYTES = 4 * 2 ** 20


def workers():
    """How many chunks run at once: Numba's thread count (NUMBA_NUM_THREADS)."""
    return max(1, numba.config.NUMBA_NUM_THREADS)


@contextlib.contextmanager
def blas_one_thread():
    """NumPy's BLAS on one thread inside the block (through ``threadpoolctl``'s library handles, a few
    microseconds; nothing without it): the pool's chunks, and products too small to share between threads,
    where waking the BLAS's threads costs more than the product (LeNet's linear layers: 0.1 ms on one
    thread, 1-10 ms on two)."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        except ImportError:            # optional: without it the GEMMs keep their own threads
            _blas = []
    old = [lib.get_num_threads() for lib in _blas]
    for lib in _blas:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(_blas, old):
            lib.set_num_threads(n)


_blas = None


def _forget_pool():
    global _pool
    _pool = None          # a forked child has none of the parent's threads: start a new pool if needed


os.register_at_fork(after_in_child=_forget_pool)


def map_chunks(fn, chunks):
    """[fn(start, stop, parallel) for each chunk]: several chunks go to a pool of ``workers()`` threads,
    each running its kernels serially (parallel=False) and its GEMMs on one BLAS thread; a lone chunk runs
    here with parallel kernels."""
    global _pool
    if len(chunks) == 1 or workers() == 1:
        return [fn(s, e, len(chunks) == 1) for s, e in chunks]
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(workers(), thread_name_prefix="minigrad-conv")
    with blas_one_thread():
        return list(_pool.map(lambda c: fn(c[0], c[1], False), chunks))
