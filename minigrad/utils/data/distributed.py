"""``DistributedSampler``: each rank's disjoint, seeded share of a dataset (``torch.utils.data.distributed``)."""
from __future__ import annotations

import math

import numpy as np


class DistributedSampler:
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads this epoch.

    With ``shuffle`` the order is a permutation drawn from ``seed + epoch`` (call ``set_epoch(epoch)`` at
    the start of each epoch, or every epoch repeats the first one's order); rank r takes positions
    r, r + R, r + 2R, ... Without ``drop_last`` the list is padded with its first indices to a multiple of
    R (every rank gets ``ceil(N / R)``, a few images twice); with it the tail is dropped (``N // R`` each).
    ``num_replicas`` and ``rank`` default to ``minigrad.distributed``'s world. Pass it as
    ``DataLoader(dataset, batch_size, sampler=sampler)``. Same rules as PyTorch's; the permutation is
    NumPy's, so the order differs from PyTorch's for the same seed.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from ...distributed.group import get_rank, get_world_size
            num_replicas = get_world_size() if num_replicas is None else num_replicas
            rank = get_rank() if rank is None else rank
        if not (isinstance(num_replicas, (int, np.integer)) and num_replicas >= 1):
            raise ValueError(f"DistributedSampler: num_replicas must be an int >= 1, got {num_replicas!r}")
        if not (isinstance(rank, (int, np.integer)) and 0 <= rank < num_replicas):
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        self.num_samples = n // self.num_replicas if self.drop_last else math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use the order of ``epoch`` (``seed + epoch``) from the next iteration on."""
        self.epoch = int(epoch)

    def indices(self):
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        order = (np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle
                 else np.arange(n, dtype=np.int64))
        if self.total_size > n:
            order = np.concatenate([order, np.resize(order, self.total_size - n)])
        return order[:self.total_size][self.rank::self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples
