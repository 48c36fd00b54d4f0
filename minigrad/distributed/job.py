"""What ``python -m minigrad train`` needs to run on several ranks: each rank's share of the data, and a
line saying how the work is split. The job itself (``minigrad.train.run``) stays one program."""
from __future__ import annotations

import os
import socket

from ..utils.data import DataLoader, DistributedSampler, Subset
from .collectives import allgather_object
from .group import group


def per_rank_batch(batch_size):
    """Each rank's share of the global batch; refuses a global batch the ranks cannot split evenly."""
    size = group().size
    if batch_size % size:
        raise ValueError(f"--batch-size {batch_size} cannot be split evenly over {size} ranks; use a multiple "
                         f"of {size}")
    return batch_size // size


def shard_loaders(train_set, test_set, batch_size, test_batch_size, seed, generator):
    """(train loader, test loader, train sampler) for this rank: a DistributedSampler share of the training
    set in batches of ``batch_size / world_size`` (call ``sampler.set_epoch(epoch)`` every epoch), and every
    world_size-th test image (no image twice: the metrics summed over ranks are the one-process ones).

    ``seed`` is the seed the one-process loader's generator gets in epoch 0 (``seed + epoch`` later): the
    sampler then draws the same permutation, and since rank r takes positions r, r + R, ... of it, the
    ranks' batches k together are the one-process run's batch k (when R divides the dataset's size)."""
    g = group()
    sampler = DistributedSampler(train_set, g.size, g.rank, shuffle=True, seed=seed)
    train = DataLoader(train_set, batch_size=per_rank_batch(batch_size), sampler=sampler, generator=generator)
    test = DataLoader(Subset(test_set, list(range(g.rank, len(test_set), g.size))), batch_size=test_batch_size)
    return train, test, sampler


def describe(batch_size):
    """'' alone; else ' x 2 ranks (MPI; global batch 64 = 2 x 32; rank 0 pid 812 on node1, ...)' for the
    job's first line (a collective: every rank calls it). The pids name the rank behind a launcher's message
    about a killed process, which names only its pid and host."""
    size = group().size
    if size == 1:
        return ""
    where = ", ".join(f"rank {r} pid {pid} on {host}" for r, (pid, host) in
                      enumerate(allgather_object((os.getpid(), socket.gethostname()))))
    return f" x {size} ranks (MPI; global batch {batch_size} = {size} x {batch_size // size}; {where})"
