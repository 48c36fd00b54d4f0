"""minigrad/nn/loss.py: the loss modules against torch's (options passed through; weights are buffers so
state_dict keys match), deprecated size_average/reduce mapped like PyTorch."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from nn_helpers import torch

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
rng = np.random.default_rng(0)
W = rng.uniform(0.5, 2, 4)


def _cls_data():
    return rng.standard_normal((5, 4)) * 2, np.array([0, 3, 1, 1, 2])


def _logit_data():
    return rng.standard_normal((5, 4)) * 2, rng.uniform(0, 1, (5, 4))


CASES = [
    ("CrossEntropyLoss", lambda lib, t: dict(), _cls_data),
    ("CrossEntropyLoss", lambda lib, t: dict(weight=t(W), label_smoothing=0.1, reduction="sum"), _cls_data),
    ("CrossEntropyLoss", lambda lib, t: dict(ignore_index=1, reduction="none"), _cls_data),
    ("NLLLoss", lambda lib, t: dict(weight=t(W)), lambda: (np.log(rng.dirichlet(np.ones(4), 5)), _cls_data()[1])),
    ("MultiMarginLoss", lambda lib, t: dict(p=2, margin=0.7, weight=t(W)), _cls_data),
    ("MSELoss", lambda lib, t: dict(), _logit_data),
    ("L1Loss", lambda lib, t: dict(reduction="sum"), _logit_data),
    ("SmoothL1Loss", lambda lib, t: dict(beta=0.5), _logit_data),
    ("HuberLoss", lambda lib, t: dict(delta=0.5, reduction="none"), _logit_data),
    ("BCELoss", lambda lib, t: dict(weight=t(W)), lambda: (rng.uniform(0.05, 0.95, (5, 4)), rng.uniform(0, 1, (5, 4)))),
    ("BCEWithLogitsLoss", lambda lib, t: dict(pos_weight=t(W)), _logit_data),
    ("KLDivLoss", lambda lib, t: dict(reduction="batchmean"),
     lambda: (np.log(rng.dirichlet(np.ones(4), 5)), rng.dirichlet(np.ones(4), 5))),
    ("KLDivLoss", lambda lib, t: dict(reduction="sum", log_target=True),
     lambda: (np.log(rng.dirichlet(np.ones(4), 5)), np.log(rng.dirichlet(np.ones(4), 5)))),
]


@requires_torch
@pytest.mark.parametrize("name,opts,data", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_loss_module_matches_torch(name, opts, data):
    x, y = data()
    m = getattr(nn, name)(**opts(nn, minigrad.tensor))
    tm = getattr(torch.nn, name)(**opts(torch.nn, torch.tensor))
    assert list(m.state_dict()) == list(tm.state_dict())
    assert repr(m) == repr(tm)
    mx = minigrad.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, tout = m(mx, minigrad.tensor(y)), tm(tx, torch.tensor(y))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = rng.standard_normal(out.shape)
    out.backward(minigrad.tensor(v))
    tout.backward(torch.tensor(v))
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_deprecated_size_average_and_reduce():
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.MSELoss(reduce=False).reduction == "none"
    assert nn.CrossEntropyLoss(size_average=True).reduction == "mean"
