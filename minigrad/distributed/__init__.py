"""``minigrad.distributed``: data-parallel training on several processes or machines, on MPI (mpi4py).

Launch with ``mpiexec -n 2 python train.py``; the same script run alone is a group of one. The names are
``torch.distributed``'s: ``init_process_group``, ``get_rank``, ``get_world_size``, ``barrier``,
``all_reduce``, ``broadcast``, ``all_gather``, ``ReduceOp``; ``DistributedDataParallel`` and
``SyncBatchNorm`` as in ``torch.nn``; ``DistributedSampler`` is in ``minigrad.utils.data``.
"""
from .collectives import (ReduceOp, all_gather, all_reduce, barrier, broadcast, broadcast_object,
                          sum_over_ranks)
from .ddp import DistributedDataParallel
from .group import (DistributedError, DistributedTimeoutError, abort, abort_on_error, destroy_process_group,
                    get_rank, get_world_size, init_process_group, is_available, is_initialized, launched_by_mpi)
from .sync_batchnorm import SyncBatchNorm

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available", "launched_by_mpi",
           "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather", "ReduceOp", "abort",
           "abort_on_error", "broadcast_object", "sum_over_ranks",
           "DistributedDataParallel", "SyncBatchNorm", "DistributedError", "DistributedTimeoutError"]
