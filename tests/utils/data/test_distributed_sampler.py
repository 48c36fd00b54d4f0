"""DistributedSampler: disjoint seeded shares that cover the dataset once per epoch, in a new order each."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad
from minigrad.utils.data import DataLoader, DistributedSampler, TensorDataset


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


@given(n=st.integers(1, 60), replicas=st.integers(1, 5), seed=st.integers(0, 1000), shuffle=st.booleans())
def test_shares_are_disjoint_and_cover_the_dataset_once(n, replicas, seed, shuffle):
    for epoch in (0, 1):
        shares = []
        for r in range(replicas):
            s = DistributedSampler(Sized(n), num_replicas=replicas, rank=r, shuffle=shuffle, seed=seed)
            s.set_epoch(epoch)
            shares.append(list(s))
            assert len(shares[-1]) == len(s) == -(-n // replicas)
        every = np.concatenate(shares)
        assert set(every.tolist()) == set(range(n))
        # only the padding to a multiple of the ranks repeats indices (the first ones of the order)
        assert len(every) - n == (-n) % replicas
        if n % replicas == 0:
            assert sorted(every.tolist()) == list(range(n))


@given(n=st.integers(1, 60), replicas=st.integers(1, 5))
def test_drop_last_gives_disjoint_equal_shares(n, replicas):
    shares = [list(DistributedSampler(Sized(n), replicas, r, drop_last=True)) for r in range(replicas)]
    every = sum(shares, [])
    assert all(len(s) == n // replicas for s in shares)
    assert len(set(every)) == len(every) == (n // replicas) * replicas


def test_each_epoch_its_own_order_repeatable_by_seed():
    def order(epoch, seed=0, rank=0):
        s = DistributedSampler(Sized(100), num_replicas=2, rank=rank, seed=seed)
        s.set_epoch(epoch)
        return list(s)
    assert order(0) != order(1) and order(1) != order(2)
    assert order(3) == order(3)
    assert order(0, seed=1) != order(0, seed=0)
    assert not set(order(1, rank=0)) & set(order(1, rank=1))
    assert list(DistributedSampler(Sized(6), 2, 1, shuffle=False)) == [1, 3, 5]


def test_defaults_come_from_the_process_group_and_bad_ranks_are_refused():
    s = DistributedSampler(Sized(10))
    assert (s.num_replicas, s.rank, len(s)) == (1, 0, 10)
    with pytest.raises(ValueError, match=r"rank should be in the interval \[0, 1\]"):
        DistributedSampler(Sized(10), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be an int >= 1"):
        DistributedSampler(Sized(10), num_replicas=0, rank=0)


def test_dataloader_reads_the_sampler_share():
    x = minigrad.tensor(np.arange(20, dtype=np.float32).reshape(10, 2))
    ds = TensorDataset(x, minigrad.arange(10))
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, seed=3)
    sampler.set_epoch(2)
    loader = DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    seen = np.concatenate([y.numpy() for _, y in loader])
    assert seen.tolist() == list(sampler)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, batch_size=2, sampler=sampler, shuffle=True)
