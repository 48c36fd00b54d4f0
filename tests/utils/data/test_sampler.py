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



@pytest.mark.timeout(60)
def test_closing_with_batches_larger_than_the_pipe_in_flight_does_not_hang():
    # The hang seen in a notebook: close() with batches still in flight, each larger than the 64 KiB pipe
    # buffer, so a worker's feeder thread is halfway through writing one when the worker is told to stop and
    # exits. The parent then read that half batch and waited forever for the rest (it holds the pipe's write
    # end too), the exited workers left as zombies. pytest-timeout turns such a hang into a failure.
    import time
    ds = TensorDataset(minigrad.Tensor(np.zeros((64, 3, 64, 64), np.float32)))    # 8 x 48 KiB = 384 KiB a batch
    for _ in range(5):
        it = iter(DataLoader(ds, batch_size=8, num_workers=2))
        assert next(it)[0].shape == (8, 3, 64, 64)
        time.sleep(0.3)                 # the other batches in flight are made and stuck in the pipe
        start = time.monotonic()
        it.close()
        assert time.monotonic() - start < 10      # the workers exit at once, not after the 5 s grace
        assert not _children()


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


class WhoAmI:
    """Item i: (i, the pid of the process that loaded it); index ``kill`` kills the worker, ``stall`` sleeps."""

    def __init__(self, n=12, kill=None, stall=None):
        self.n, self.kill, self.stall = n, kill, stall

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        import os
        import signal
        import time
        from minigrad.utils.data import get_worker_info
        if i == self.kill and get_worker_info() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        if i == self.stall:
            time.sleep(30)
        return np.array([i, os.getpid()])


def test_a_killed_worker_is_an_error_naming_it_not_a_hang():
    import time
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \d \(pid \d+\) exited unexpectedly "
                                           r"\(killed by signal SIGKILL\)"):
        for _ in DataLoader(WhoAmI(kill=5), batch_size=2, num_workers=2):
            pass
    assert time.monotonic() - start < 20
    assert not _children()


def test_timeout_bounds_the_wait_for_one_batch():
    import time
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        for _ in DataLoader(WhoAmI(stall=3), batch_size=2, num_workers=1, timeout=0.5):
            pass
    assert time.monotonic() - start < 10      # the stalled worker is terminated, not waited for
    assert not _children()
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(WhoAmI(), timeout=-1)


def test_persistent_workers_serve_every_epoch_with_the_same_processes():
    tf = T.Compose([T.ToTensor(), T.RandomCrop(6, padding=1)])
    ds = ArrayDataset(np.random.default_rng(1).integers(0, 256, (20, 8, 8, 3), dtype=np.uint8), np.arange(20),
                      transform=tf)
    plain = DataLoader(ds, batch_size=4, shuffle=True, generator=3)
    kept = DataLoader(ds, batch_size=4, shuffle=True, generator=3, num_workers=2, persistent_workers=True)
    for epoch in range(3):
        want, got = _batches(plain), _batches(kept)
        for (x, y), (bx, by) in zip(got, want, strict=True):
            np.testing.assert_array_equal(y, by)
            np.testing.assert_array_equal(x, bx)
        pids = sorted(p.pid for p in _children())
        assert len(pids) == 2 and (epoch == 0 or pids == first)
        first = pids
    loader = DataLoader(WhoAmI(), batch_size=3, num_workers=2, persistent_workers=True)
    next(iter(loader))                                # an epoch left after one batch (a break)
    items = [b[:, 0].tolist() for b in loader]        # the next one still starts at batch 0, in order
    assert items == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert len({pid for b in loader for pid in b[:, 1].tolist()}) <= 2
    del kept, loader
    import gc
    gc.collect()
    assert not _children()
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(WhoAmI(), persistent_workers=True)


def test_get_worker_info_inside_and_outside_the_workers():
    from minigrad.utils.data import get_worker_info

    class Info:
        def __len__(self):
            return 6

        def __getitem__(self, i):
            info = get_worker_info()
            return np.array([info.id, info.num_workers, isinstance(info.dataset, Info)])

    assert get_worker_info() is None
    rows = np.concatenate([b.numpy() for b in DataLoader(Info(), batch_size=2, num_workers=3)])
    assert set(rows[:, 0]) == {0, 1, 2} and set(rows[:, 1]) == {3} and rows[:, 2].all()

    def bad_init(wid):
        raise OSError(f"worker {wid} cannot open its file")

    with pytest.raises(OSError, match=r"(?s)worker_init_fn of DataLoader worker \d.*cannot open its file"):
        list(DataLoader(Info(), batch_size=2, num_workers=2, worker_init_fn=bad_init))
    assert not _children()


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_their_parent_dies_without_closing_them(tmp_path):
    import os
    import subprocess
    import sys
    import time
    script = tmp_path / "orphan.py"
    script.write_text("import multiprocessing, os, numpy as np\n"
                      "from minigrad.utils.data import DataLoader\n"
                      "loader = DataLoader(np.arange(8.0), batch_size=2, num_workers=2, persistent_workers=True)\n"
                      "next(iter(loader))\n"
                      "print(' '.join(str(p.pid) for p in multiprocessing.active_children()), flush=True)\n"
                      "os._exit(0)\n")                     # no atexit, no close: the workers are orphans
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    deadline = time.monotonic() + 20
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in pids if os.path.exists(f"/proc/{p}") and
                 open(f"/proc/{p}/stat").read().split()[2] != "Z"]
    assert not alive, f"workers {alive} outlived their parent"
