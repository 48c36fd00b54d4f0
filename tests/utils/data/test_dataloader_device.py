"""DataLoader(device=...) puts every batch on the device, with and without the prefetch thread."""
import numpy as np
import pytest

import minigrad
from helpers import DEVICES
from minigrad.utils.data import DataLoader, TensorDataset


@pytest.mark.parametrize("prefetch", [0, 2])
@pytest.mark.parametrize("device", DEVICES)
def test_batches_arrive_on_the_device(device, prefetch):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    dl = DataLoader(TensorDataset(x, y), batch_size=4, device=device, prefetch=prefetch)
    batches = list(dl)
    assert [len(b[0]) for b in batches] == [4, 2]
    for xb, yb in batches:
        assert xb.device == device and yb.device == device
    np.testing.assert_array_equal(np.concatenate([b[0].cpu().numpy() for b in batches]), x)
