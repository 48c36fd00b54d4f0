"""A few SGD steps of a small CNN on every device give the CPU's weights (to float32 rounding)."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from helpers import DEVICES


def _train(device, steps=3):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3, groups=4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3)).to(device)          # (no dropout: each device has its own stream)
    opt = minigrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((8, 1, 8, 8), dtype=np.float32), device=device)
    y = minigrad.tensor(rng.integers(0, 3, 8), device=device)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return {k: v.cpu().numpy() for k, v in model.state_dict().items()}, model(x).detach().cpu().numpy()


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "cpu"] or
                         [pytest.param("cuda", marks=pytest.mark.skip(reason="no CUDA device (real or simulated)"))])
def test_training_on_the_device_gives_the_cpus_weights(device):
    cpu_state, cpu_out = _train("cpu")
    state, out = _train(device)
    assert state.keys() == cpu_state.keys()
    for k in state:
        np.testing.assert_allclose(state[k], cpu_state[k], rtol=1e-4, atol=1e-5, err_msg=k)
    np.testing.assert_allclose(out, cpu_out, rtol=1e-4, atol=1e-5)
