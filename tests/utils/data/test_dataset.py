"""minigrad.utils.data datasets: TensorDataset, Subset, ConcatDataset, ArrayDataset, random_split."""
import numpy as np
import pytest

import minigrad
import minigrad.transforms as T
from minigrad.utils.data import (ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset, apply_batch,
                                 random_split)


def test_tensordataset_items_and_batches():
    x, y = minigrad.randn(10, 3), minigrad.arange(10)
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[4]
    assert isinstance(xi, minigrad.Tensor) and yi.item() == 4
    np.testing.assert_array_equal(xi.numpy(), x.numpy()[4])
    bx, by = ds.get_batch(np.array([7, 1, 1]))
    np.testing.assert_array_equal(bx, x.numpy()[[7, 1, 1]])
    np.testing.assert_array_equal(by, [7, 1, 1])
    arrays = TensorDataset(np.arange(6).reshape(3, 2), np.arange(3))
    assert arrays[2][0].tolist() == [4, 5]
    with pytest.raises(ValueError, match=r"\[10, 9\]"):
        TensorDataset(x, minigrad.arange(9))


def test_arraydataset_item_and_batch_agree():
    data = np.random.default_rng(0).integers(0, 256, (7, 5, 5), dtype=np.uint8)
    ds = ArrayDataset(data, np.arange(7), transform=T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])]),
                      target_transform=lambda t: t * 10)
    x, y = ds[3]
    assert x.shape == (1, 5, 5) and y == 30 and isinstance(y, int)
    bx, by = ds.get_batch(np.array([3, 0]))
    np.testing.assert_allclose(bx[0], x, rtol=1e-6)
    assert by.tolist() == [30, 0]
    with pytest.raises(ValueError, match="7 vs 6"):
        ArrayDataset(data, np.arange(6))


def test_subset_and_concat():
    ds = TensorDataset(np.arange(10) * 2)
    sub = Subset(ds, [9, 0, 3])
    assert len(sub) == 3 and sub[0][0] == 18 and sub[2][0] == 6
    assert sub.get_batch(np.array([1, 2]))[0].tolist() == [0, 6]
    assert Subset(Subset(ds, [5, 6, 7]), [2]).get_batch(np.array([0]))[0].tolist() == [14]

    class Plain(Dataset):
        def __getitem__(self, i):
            return i

        def __len__(self):
            return 4

    assert Subset(Plain(), [3]).get_batch(np.array([0])) is NotImplemented
    cat = ds + Plain()
    assert isinstance(cat, ConcatDataset) and len(cat) == 14 and cat[10] == 0 and cat[9][0] == 18
    assert cat[-1] == 3
    with pytest.raises(IndexError):
        cat[14]
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_random_split_lengths_and_fractions():
    ds = TensorDataset(np.arange(103))
    parts = random_split(ds, [50, 50, 3], generator=0)
    assert [len(p) for p in parts] == [50, 50, 3]
    all_idx = np.concatenate([p.indices for p in parts])
    assert sorted(all_idx.tolist()) == list(range(103))
    again = random_split(ds, [50, 50, 3], generator=0)
    assert all((a.indices == b.indices).all() for a, b in zip(parts, again))
    assert not (random_split(ds, [50, 50, 3], generator=1)[0].indices == parts[0].indices).all()
    assert [len(p) for p in random_split(ds, [0.3, 0.3, 0.4], generator=0)] == [31, 31, 41]
    assert [len(p) for p in random_split(ds, [0.5, 0.5], generator=np.random.default_rng(0))] == [52, 51]
    g = minigrad.Generator().manual_seed(0)
    assert [len(p) for p in random_split(ds, [0.9, 0.1], generator=g)] == [93, 10]


def test_random_split_fraction_rule_matches_torch():
    torch = pytest.importorskip("torch")
    for n, fr in [(103, [0.3, 0.3, 0.4]), (10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (1000, [0.8, 0.2])]:
        ours = [len(p) for p in random_split(TensorDataset(np.arange(n)), fr, generator=0)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fr)]
        assert ours == theirs


def test_random_split_errors():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match=r"\(9\) does not equal .* \(10\)"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [11, -1])


def test_apply_batch_falls_back_for_plain_functions():
    x = np.arange(6).reshape(3, 2)
    np.testing.assert_array_equal(apply_batch(lambda r: r[::-1], x), x[:, ::-1])
