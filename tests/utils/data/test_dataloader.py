"""DataLoader: Tensor batches, seeded shuffling, prefetching that does not change results, clean shutdown."""
import gc
import threading
import time

import numpy as np
import pytest

import minigrad
import minigrad.transforms as T
from minigrad.utils.data import ArrayDataset, DataLoader, Dataset, TensorDataset, default_collate

THREAD = "minigrad-DataLoader-prefetch"


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == THREAD and t.is_alive()]


@pytest.fixture(autouse=True)
def no_thread_leaks():
    before = len(prefetch_threads())
    yield
    assert len(prefetch_threads()) == before, "a DataLoader prefetch thread outlived its iterator"


def image_dataset(n=50, transform=None, seed=0):
    rng = np.random.default_rng(seed)
    return ArrayDataset(rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), rng.integers(0, 10, n),
                        transform=transform)


class ItemOnly(Dataset):
    """A dataset without get_batch: the DataLoader must go item by item."""

    def __init__(self, base):
        self.base = base

    def __getitem__(self, i):
        return self.base[i]

    def __len__(self):
        return len(self.base)


def collect(loader):
    return [tuple(t.numpy().copy() for t in batch) for batch in loader]


def assert_same(a, b):
    assert len(a) == len(b)
    for ba, bb in zip(a, b):
        for ta, tb in zip(ba, bb):
            np.testing.assert_array_equal(ta, tb)


def test_batches_are_tensors_with_dtypes_and_sizes():
    ds = image_dataset(50, T.ToTensor())
    dl = DataLoader(ds, batch_size=16)
    batches = list(dl)
    assert len(dl) == len(batches) == 4
    x, y = batches[0]
    assert isinstance(x, minigrad.Tensor) and isinstance(y, minigrad.Tensor)
    assert x.shape == (16, 3, 8, 8) and x.dtype == minigrad.float32 and y.dtype == minigrad.int64
    assert batches[-1][0].shape[0] == 2
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), ds.targets)
    dl = DataLoader(ds, batch_size=16, drop_last=True)
    assert len(dl) == len(list(dl)) == 3


@pytest.mark.parametrize("prefetch", [0, 2])
def test_item_path_equals_batch_path(prefetch):
    ds = image_dataset(30, T.Compose([T.ToTensor(), T.Normalize([0.5, 0.4, 0.3], [0.2, 0.2, 0.2])]))
    fast = collect(DataLoader(ds, batch_size=8, prefetch=prefetch))
    slow = collect(DataLoader(ItemOnly(ds), batch_size=8, prefetch=prefetch))
    forced = collect(DataLoader(ds, batch_size=8, collate_fn=default_collate, prefetch=prefetch))
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
        np.testing.assert_array_equal(a[1], b[1])
    assert_same(slow, forced)


def test_shuffle_is_seeded_and_changes_every_epoch():
    ds = TensorDataset(np.arange(100))
    dl = DataLoader(ds, batch_size=10, shuffle=True, generator=5)
    e1, e2 = [np.concatenate([b[0].numpy() for b in dl]) for _ in range(2)]
    assert sorted(e1) == list(range(100)) and sorted(e2) == list(range(100))
    assert not np.array_equal(e1, np.arange(100))
    assert not np.array_equal(e1, e2)
    again = DataLoader(ds, batch_size=10, shuffle=True, generator=5)
    assert np.array_equal(np.concatenate([b[0].numpy() for b in again]), e1)
    g = minigrad.Generator().manual_seed(5)
    with_g = np.concatenate([b[0].numpy() for b in DataLoader(ds, 10, shuffle=True, generator=g)])
    assert np.array_equal(with_g, e1)  # an int seed and a Generator seeded alike give the same order
    with_np = np.concatenate([b[0].numpy() for b in DataLoader(ds, 10, shuffle=True,
                                                                 generator=np.random.default_rng(5))])
    assert np.array_equal(with_np, e1)


def test_shuffle_follows_manual_seed():
    ds = TensorDataset(np.arange(64))
    minigrad.manual_seed(1)
    a = collect(DataLoader(ds, 8, shuffle=True))
    minigrad.manual_seed(1)
    b = collect(DataLoader(ds, 8, shuffle=True))
    minigrad.manual_seed(2)
    c = collect(DataLoader(ds, 8, shuffle=True))
    assert_same(a, b)
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(a, c))


@pytest.mark.parametrize("item_only", [False, True])
def test_prefetch_does_not_change_results(item_only):
    # Random augmentation without its own generator, and a "training loop" that draws from the global
    # generator between batches (dropout, init): the batches must not depend on prefetching.
    aug = T.Compose([T.ToTensor(), T.RandomCrop(8, padding=2), T.RandomHorizontalFlip(),
                     T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.Lighting()])
    ds = image_dataset(70, aug)
    ds = ItemOnly(ds) if item_only else ds

    def run(prefetch, seed=123):
        minigrad.manual_seed(seed)
        out = []
        for epoch in range(2):
            for x, y in DataLoader(ds, batch_size=16, shuffle=True, prefetch=prefetch):
                minigrad.randn(100)  # the training step uses the same global generator
                time.sleep(0.001)
                out.append((x.numpy().copy(), y.numpy().copy()))
        return out

    ref = run(0)
    assert_same(run(1), ref)
    assert_same(run(4), ref)
    other = run(2, seed=124)
    assert not np.allclose(ref[0][0], other[0][0])  # the augmentation is random


def test_prefetch_overlaps_loading_and_training():
    class Slow(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            time.sleep(0.05)
            return np.float32(i)

    def epoch(prefetch):
        t0 = time.perf_counter()
        for _ in DataLoader(Slow(), batch_size=1, prefetch=prefetch):
            time.sleep(0.05)  # "training"
        return time.perf_counter() - t0

    assert epoch(2) < 0.8 * epoch(0)


def test_break_and_garbage_collection_stop_the_thread():
    ds = image_dataset(200, T.ToTensor())
    dl = DataLoader(ds, batch_size=4, prefetch=3)
    before = len(prefetch_threads())
    for k, _ in enumerate(dl):
        if k == 2:
            assert len(prefetch_threads()) == before + 1
            break
    assert len(prefetch_threads()) == before  # the iterator was collected at `break`

    it = iter(dl)
    next(it)
    it.cycle = it  # only the cycle collector can free it now
    del it
    gc.collect()
    assert len(prefetch_threads()) == before

    it = iter(dl)  # never consumed
    del it
    assert len(prefetch_threads()) == before

    for _ in range(20):  # many epochs, no growth
        for _ in dl:
            pass
    assert len(prefetch_threads()) == before


def test_close_and_exhaustion():
    dl = DataLoader(TensorDataset(np.arange(10)), batch_size=3, prefetch=2)
    it = iter(dl)
    assert len(it) == 4
    next(it)
    it.close()
    with pytest.raises(StopIteration):
        next(it)
    it = iter(dl)
    assert len(list(it)) == 4
    with pytest.raises(StopIteration):
        next(it)
    assert list(DataLoader(TensorDataset(np.arange(0)), batch_size=3)) == []


@pytest.mark.parametrize("prefetch", [0, 2])
def test_errors_in_the_dataset_reach_the_loop(prefetch):
    class Broken(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 5:
                raise KeyError(f"sample {i} is broken")
            return np.zeros(2)

    it = iter(DataLoader(Broken(), batch_size=2, prefetch=prefetch))
    next(it), next(it)
    with pytest.raises(KeyError, match="sample 5"):
        next(it)


def test_custom_collate_and_default_collate():
    ds = TensorDataset(np.arange(6), np.arange(6) * 10)
    batches = list(DataLoader(ds, batch_size=4, collate_fn=lambda samples: len(samples)))
    assert batches == [4, 2]
    b = default_collate([{"x": np.ones((2, 2), np.float32), "y": 1, "w": 0.5, "name": "a"},
                         {"x": np.zeros((2, 2), np.float32), "y": 2, "w": 1.5, "name": "b"}])
    assert b["x"].shape == (2, 2, 2) and b["x"].dtype == minigrad.float32
    assert b["y"].dtype == minigrad.int64 and b["y"].numpy().tolist() == [1, 2]
    assert b["w"].dtype == minigrad.float32 and b["name"] == ["a", "b"]
    t = default_collate([(minigrad.ones(3), True), (minigrad.zeros(3), False)])
    assert isinstance(t, tuple) and t[0].shape == (2, 3) and t[1].dtype == minigrad.bool
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])


def test_argument_errors():
    ds = TensorDataset(np.arange(3))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(ds, prefetch=-1)
    with pytest.raises(TypeError, match="generator"):
        DataLoader(ds, generator="seed")


@pytest.mark.parametrize("prefetch", [0, 2])
def test_state_dict_resumes_mid_epoch_and_between_epochs(prefetch):
    aug = T.Compose([T.ToTensor(), T.RandomCrop(8, padding=2), T.RandomHorizontalFlip()])
    ds = image_dataset(40, aug)

    def loader():
        return DataLoader(ds, batch_size=8, shuffle=True, generator=7, prefetch=prefetch)

    ref = loader()
    full = [b for _ in range(3) for b in collect(ref)]  # 3 epochs of 5 batches

    a = loader()
    seen = []
    for k, batch in enumerate(a):
        seen.append(tuple(t.numpy().copy() for t in batch))
        if k == 2:
            state = a.state_dict()
            break
    assert state["batches_done"] == 3
    resumed = loader()
    resumed.load_state_dict(state)
    rest = [batch for _ in range(3) for batch in collect(resumed)][:12]
    assert_same(seen + rest, full)

    c = loader()
    collect(c)  # one whole epoch, then checkpoint between epochs
    state = c.state_dict()
    assert state["batches_done"] == 0
    d = loader()
    d.load_state_dict(state)
    assert_same(collect(d) + collect(d), full[5:])


def test_device_argument_moves_batches():
    dl = DataLoader(TensorDataset(np.arange(6, dtype=np.float32)), batch_size=3, device="cpu")
    (x,) = next(iter(dl))
    assert x.device == minigrad.device("cpu") and x.numpy().tolist() == [0, 1, 2]


# ---------------------------------------------------------------------------------------------- collate dtypes

@pytest.mark.parametrize("items,dtype,values", [
    ([1, 2.7], "float32", [1.0, 2.7]),                  # defect: the first item's int64 truncated 2.7
    ([2.7, 1], "float32", [2.7, 1.0]),
    ([True, 2], "int64", [1, 2]),
    ([True, False], "bool", [True, False]),
    ([np.int32(1), np.float64(2.5)], "float64", [1.0, 2.5]),
    ([np.array([1], np.int8), np.array([300], np.int16)], "int16", [[1], [300]]),
    ([np.uint8(200), np.array(1.5, np.float32)], "float32", [200.0, 1.5]),
])
def test_default_collate_uses_the_result_type_of_all_items(items, dtype, values):
    b = default_collate(items)
    assert b.dtype == getattr(minigrad, dtype)
    np.testing.assert_allclose(b.numpy().astype(np.float64), np.array(values, np.float64), rtol=1e-6)


def test_default_collate_float_labels_match_torch_values():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    for items in ([1, 2.7], [np.zeros(2, np.int64), np.full(2, 0.5)]):
        np.testing.assert_allclose(default_collate(items).numpy(), torch_collate(items).numpy(), rtol=1e-6)


@pytest.mark.parametrize("make", [np.zeros, minigrad.zeros])
def test_default_collate_names_the_first_item_of_another_shape(make):
    items = [make((3, 2)), make((3, 2)), make((4, 2)), make((5,))]
    with pytest.raises(RuntimeError, match=r"item 2 of the batch has shape \(4, 2\), but item 0 has shape \(3, 2\)"):
        default_collate(items)
    with pytest.raises(RuntimeError, match=r"item 1 .* shape \(2,\), but item 0 has shape \(\)"):
        default_collate([(1.0, np.float32(0)), (2.0, np.zeros(2, np.float32))])


def test_dropping_an_iterator_whose_dataset_hangs_does_not_block():
    release = threading.Event()

    class Hangs(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            if i >= 2:                       # the second batch never comes back (until the test ends)
                release.wait(60)
            return np.float32(i)

    it = iter(DataLoader(Hangs(), batch_size=2, prefetch=1))
    try:
        assert next(it).numpy().tolist() == [0.0, 1.0]
        time.sleep(0.1)                      # the thread is now inside __getitem__(2)
        thread = it._thread
        start = time.monotonic()
        with pytest.warns(RuntimeWarning, match="prefetch thread is still preparing a batch .* abandoned"):
            del it
            gc.collect()
        assert time.monotonic() - start < 10 and thread.daemon and thread.is_alive()
    finally:
        release.set()
    thread.join(5)
    assert not thread.is_alive()
