"""minigrad/utils/data/sampler.py and the DataLoader's sampler=, batch_sampler=, num_workers=, pin_memory=."""
import multiprocessing

import numpy as np
import pytest

import minigrad
import minigrad.transforms as T
from minigrad.utils.data import (ArrayDataset, BatchSampler, DataLoader, RandomSampler, SequentialSampler,
                                 SubsetRandomSampler, TensorDataset, WeightedRandomSampler)

try:
    import torch
    from torch.utils import data as tdata
except ImportError:
    torch = None
requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def dataset(n=40):
    rng = np.random.default_rng(0)
    return ArrayDataset(rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), np.arange(n))


@requires_torch
def test_deterministic_samplers_match_torch():
    data = list(range(11))
    assert list(SequentialSampler(data)) == list(tdata.SequentialSampler(data))
    for bs in (1, 3, 4, 11, 20):
        for drop in (False, True):
            ours = BatchSampler(SequentialSampler(data), bs, drop)
            theirs = tdata.BatchSampler(tdata.SequentialSampler(data), bs, drop)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_samplers_are_seeded_and_well_formed():
    data = range(10)
    a, b = list(RandomSampler(data, generator=3)), list(RandomSampler(data, generator=3))
    assert a == b and sorted(a) == list(range(10))
    s = RandomSampler(data, num_samples=25, generator=1)
    out = list(s)
    assert len(out) == len(s) == 25 and all(sorted(out[i:i + 10]) == list(range(10)) for i in (0, 10))
    r = list(RandomSampler(data, replacement=True, num_samples=100, generator=2))
    assert len(r) == 100 and set(r) <= set(range(10))
    sub = list(SubsetRandomSampler([5, 7, 9], generator=0))
    assert sorted(sub) == [5, 7, 9]
    minigrad.manual_seed(4)
    g1 = list(RandomSampler(data))
    minigrad.manual_seed(4)
    assert list(RandomSampler(data)) == g1          # generator=None follows minigrad.manual_seed


def test_weighted_random_sampler_follows_the_weights():
    w = np.array([0.0, 1.0, 3.0, 6.0])
    out = np.array(list(WeightedRandomSampler(w, 20000, generator=0)))
    freq = np.bincount(out, minlength=4) / out.size
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.015)
    no_rep = list(WeightedRandomSampler(minigrad.tensor(w), 3, replacement=False, generator=0))
    assert sorted(no_rep) == [1, 2, 3]
    with pytest.raises(ValueError, match="without replacement from 3 non-zero weights"):
        WeightedRandomSampler(w, 4, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_loader_with_sampler_and_batch_sampler():
    ds = dataset()
    idx = [3, 1, 4, 1, 5, 9, 2, 6]
    loader = DataLoader(ds, batch_size=3, sampler=idx)
    assert len(loader) == 3
    assert [b[1].tolist() for b in loader] == [[3, 1, 4], [1, 5, 9], [2, 6]]
    assert [b[1].tolist() for b in DataLoader(ds, batch_size=3, sampler=idx, drop_last=True)] == \
        [[3, 1, 4], [1, 5, 9]]
    bs = BatchSampler(SequentialSampler(range(7)), 2, drop_last=False)
    loader = DataLoader(ds, batch_sampler=bs)
    assert len(loader) == 4 and [b[1].tolist() for b in loader][-1] == [6]
    loader = DataLoader(ds, batch_size=8, sampler=RandomSampler(ds, generator=0))
    seen = sorted(v for b in loader for v in b[1].tolist())
    assert seen == list(range(40))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=idx, shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=4, batch_sampler=bs)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    assert DataLoader(ds, pin_memory=True).pin_memory


def _batches(loader):
    return [(x.numpy().copy(), y.numpy().copy()) for x, y in loader]


def _children():
    return multiprocessing.active_children()


def test_num_workers_gives_the_same_batches_in_the_same_order_and_shuts_down():
    tf = T.Compose([T.ToTensor(), T.RandomCrop(6, padding=1), T.RandomHorizontalFlip()])   # random, per batch
    ds = ArrayDataset(np.random.default_rng(0).integers(0, 256, (40, 8, 8, 3), dtype=np.uint8), np.arange(40),
                      transform=tf)
    base = _batches(DataLoader(ds, batch_size=6, shuffle=True, generator=7, num_workers=0))
    for workers in (1, 3):
        got = _batches(DataLoader(ds, batch_size=6, shuffle=True, generator=7, num_workers=workers))
        assert len(got) == len(base)
        for (x, y), (bx, by) in zip(got, base):
            np.testing.assert_array_equal(y, by)
            np.testing.assert_array_equal(x, bx)
    assert not _children()
    loader = DataLoader(ds, batch_size=4, num_workers=2)
    it = iter(loader)
    next(it)
    assert _children()
    it.close()                      # a break: the workers go at once
    assert not _children()
    items = TensorDataset(minigrad.arange(10))
    assert [b[0].tolist() for b in DataLoader(items, batch_size=4, num_workers=2)] == \
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


class Boom:
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError("sample 5 is broken")
        return np.float32(i)


def test_worker_error_reaches_the_caller_and_workers_stop():
    with pytest.raises(KeyError, match="sample 5 is broken"):
        for _ in DataLoader(Boom(), batch_size=2, num_workers=2):
            pass
    assert not _children()
