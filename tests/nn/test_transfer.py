"""Transfer learning: freeze a backbone (requires_grad_(False)), replace the head, keep a frozen
BatchNorm's statistics fixed (eval mode on that sub-module), fine-tune only the new head with a
hand-written SGD step, and check that no frozen value moved; the same run in torch ends at the same head."""
from collections import OrderedDict

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from nn_helpers import torch


def make(lib):
    backbone = lib.Sequential(lib.Conv2d(3, 6, 3, padding=1), lib.BatchNorm2d(6), lib.ReLU(), lib.MaxPool2d(2),
                              lib.Conv2d(6, 8, 3), lib.BatchNorm2d(8), lib.ReLU(), lib.AdaptiveAvgPool2d(1),
                              lib.Flatten())
    return lib.Sequential(OrderedDict([("backbone", backbone), ("head", lib.Linear(8, 10))]))


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 3, 8, 8)), rng.integers(0, 3, 16)


def _pretrain(model):
    model.train()
    for i in range(3):                                  # non-trivial running statistics
        model(minigrad.tensor(_data(10 + i)[0]))


def _fine_tune(model, x, y, steps=8, lr=0.5):
    params = [p for p in model.parameters() if p.requires_grad]
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(minigrad.tensor(x)), minigrad.tensor(y))
        model.zero_grad()
        loss.backward()
        with minigrad.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)
        losses.append(loss.item())
    return losses


def test_fine_tune_only_the_new_head():
    minigrad.manual_seed(0)
    model = make(nn).double()
    _pretrain(model)
    model.backbone.requires_grad_(False)
    model.head = nn.Linear(8, 3).double()               # a new head for a 3-class task
    model.train()
    model.backbone.eval()                               # frozen BatchNorm statistics stay fixed
    frozen = {k: v.numpy().copy() for k, v in model.backbone.state_dict().items()}
    head_before = model.head.weight.detach().numpy().copy()
    assert [p for p in model.parameters() if p.requires_grad] == list(model.head.parameters())

    x, y = _data()
    losses = _fine_tune(model, x, y)

    assert losses[-1] < losses[0]
    assert all(p.grad is None for p in model.backbone.parameters())
    for k, v in model.backbone.state_dict().items():    # weights, running stats, num_batches_tracked
        np.testing.assert_array_equal(v.numpy(), frozen[k], err_msg=f"frozen {k} moved")
    assert not np.allclose(model.head.weight.detach().numpy(), head_before)
    assert model.head.training and not model.backbone[1].training


def test_frozen_batchnorm_in_train_mode_would_move():
    """The check above has teeth: requires_grad_(False) alone does not stop running statistics."""
    model = make(nn).double()
    model.backbone.requires_grad_(False)
    before = model.backbone[1].running_mean.numpy().copy()
    model.train()
    model(minigrad.tensor(_data()[0]))
    assert not np.array_equal(model.backbone[1].running_mean.numpy(), before)


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_fine_tuning_matches_torch():
    minigrad.manual_seed(1)
    model, tmodel = make(nn).double(), make(torch.nn).double()
    _pretrain(model)
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    for m in (model, tmodel):
        m.backbone.requires_grad_(False)
    model.head = nn.Linear(8, 3).double()
    tmodel.head = torch.nn.Linear(8, 3).double()
    tmodel.head.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.head.state_dict().items()})
    model.train().backbone.eval()
    tmodel.train().backbone.eval()

    x, y = _data(2)
    losses = _fine_tune(model, x, y, steps=5)
    tparams = [p for p in tmodel.parameters() if p.requires_grad]
    tlosses = []
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
        tmodel.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in tparams:
                p.sub_(p.grad, alpha=0.5)
        tlosses.append(loss.item())
    np.testing.assert_allclose(losses, tlosses, rtol=1e-10)
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v.numpy(), tmodel.state_dict()[k].numpy(), rtol=1e-10, atol=1e-12)
