"""The CPU kernels' thread pool: a convolution's batch chunks run on ``workers()`` threads.

A convolution runs its batch in chunks (im2col, GEMM, col2im per chunk). Threads take whole chunks and
the BLAS runs one thread per GEMM meanwhile: one hand-off per call instead of a fork/join (Numba's and
OpenBLAS's, fighting over the cores) per chunk and per GEMM. On a busy 2-core machine that is the
difference between 30 ms and 700 ms for the same layer. ``threadpoolctl`` (optional) pins the BLAS to one
thread inside the pool.
"""
import os

import numba

_pool = None

# A conv's batch chunk aims at this many bytes of columns: the workspace stays in cache between im2col and
# the GEMM, and an allocation this size is reused by malloc instead of being page-faulted afresh each call.
CHUNK_BYTES = 4 * 2 ** 20


def workers():
    """How many chunks run at once: Numba's thread count (NUMBA_NUM_THREADS)."""
    return max(1, numba.config.NUMBA_NUM_THREADS)


def _blas_one_thread():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:            # optional: without it the GEMMs keep their own threads
        import contextlib
        return contextlib.nullcontext()
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


_controller = None


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
    with _blas_one_thread():
        return list(_pool.map(lambda c: fn(c[0], c[1], False), chunks))
