"""End to end: the PyTorch-style loop (model, loss module, zero_grad, backward, update under no_grad,
metrics.accuracy) learns a three-class spiral that no linear model separates."""
import numpy as np

import minigrad
import minigrad.nn as nn
from minigrad.metrics import accuracy


def spiral(n=100, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x, y = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1, n)
        t = np.linspace(c * 4, (c + 1) * 4, n) + rng.standard_normal(n) * 0.2
        x.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        y.append(np.full(n, c))
    return minigrad.tensor(np.concatenate(x), dtype=minigrad.float32), minigrad.tensor(np.concatenate(y))


def test_mlp_learns_spiral():
    minigrad.manual_seed(0)
    x, y = spiral()
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    loss_fn = nn.CrossEntropyLoss()
    for step in range(300):
        loss = loss_fn(model(x), y)
        model.zero_grad()
        loss.backward()
        with minigrad.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    model.eval()
    with minigrad.no_grad():
        acc1, = accuracy(model(x), y)
    assert loss.item() < 0.3 and acc1.item() > 90
