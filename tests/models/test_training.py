"""Each zoo model runs forward and backward on a batch of 2 at a reduced resolution, and a few steps of
minigrad.optim.SGD on that tiny fixed batch lower its loss. (The biggest variants, vgg16/19, resnet101/152
and efficientnet b1-b7, share these models' code and are only counted, in test_counts.py.)"""
import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import models as M

# name, builder kwargs, input shape (one sample), learning rate, steps
CASES = [
    ("lenet5", {}, (1, 32, 32), 0.05, 4),
    ("lenet5", {"classic": True}, (1, 32, 32), 0.001, 4),
    ("alexnet", {"dropout": 0.0}, (3, 64, 64), 0.01, 2),
    ("alexnet", {"original": True, "dropout": 0.0}, (3, 227, 227), 0.01, 2),
    ("vgg11", {"dropout": 0.0}, (3, 32, 32), 0.01, 2),
    ("vgg11_bn", {"dropout": 0.0}, (3, 32, 32), 0.01, 2),
    ("resnet18", {}, (3, 32, 32), 0.05, 3),
    ("resnet50", {}, (3, 32, 32), 0.05, 3),
    ("resnet20", {}, (3, 32, 32), 0.05, 4),
    ("resnet20", {"plain": True}, (3, 32, 32), 0.05, 4),
    ("resnet20", {"norm": None}, (3, 32, 32), 0.05, 4),
    ("googlenet", {"dropout": 0.0, "dropout_aux": 0.0}, (3, 64, 64), 0.01, 3),
    ("googlenet", {"batch_norm": True, "aux_logits": False, "dropout": 0.0}, (3, 64, 64), 0.05, 3),
    ("mobilenet_v1", {"width_mult": 0.5}, (3, 32, 32), 0.05, 3),
    ("mobilenet_v2", {"dropout": 0.0}, (3, 64, 64), 0.05, 3),  # at 32x32 the last BNs see 2 values
    ("efficientnet_b0", {"dropout": 0.0, "stochastic_depth_prob": 0.0}, (3, 32, 32), 0.05, 3),
]


def loss_fn(model, out, y):
    return M.googlenet_loss(out, y) if isinstance(model, M.GoogLeNet) else F.cross_entropy(out, y)


@pytest.mark.parametrize("name, kw, shape, lr, steps", CASES,
                         ids=[n + "".join(f"-{k}" for k in kw if k not in ("dropout", "dropout_aux",
                                                                         "stochastic_depth_prob"))
                              for n, kw, *_ in CASES])
def test_forward_backward_and_loss_goes_down(name, kw, shape, lr, steps):
    minigrad.manual_seed(0)
    model = M.get_model(name, num_classes=10, **kw)
    model.train()
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((2,) + shape).astype(np.float32))
    y = minigrad.tensor(np.array([3, 7]))
    losses = []
    opt = minigrad.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps + 1):
        opt.zero_grad()
        out = model(x)
        logits = out[0] if isinstance(out, tuple) else out
        assert tuple(logits.shape) == (2, 10)
        loss = loss_fn(model, out, y)
        losses.append(loss.item())
        loss.backward()
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad), "a parameter got no grad"
        opt.step()
    assert np.isfinite(losses).all(), losses
    assert min(losses[1:]) < losses[0], losses


def test_googlenet_returns_aux_logits_only_in_training():
    m = M.googlenet(num_classes=10)
    x = minigrad.randn(2, 3, 64, 64)
    out = m(x)
    assert isinstance(out, tuple) and len(out) == 3 and all(tuple(o.shape) == (2, 10) for o in out)
    m.eval()
    with minigrad.no_grad():
        assert tuple(m(x).shape) == (2, 10)


def test_stochastic_depth():
    from minigrad.models._common import StochasticDepth
    x = minigrad.ones(1000, 3)
    layer = StochasticDepth(0.25)
    y = layer(x).numpy()
    rows = y[:, 0]
    assert np.all(np.isclose(rows, 0.0) | np.isclose(rows, 1 / 0.75)) and np.allclose(y, y[:, :1])  # whole rows
    assert 0.15 < (rows == 0).mean() < 0.35
    layer.eval()
    assert np.array_equal(layer(x).numpy(), x.numpy())


def test_efficientnet_runs_with_its_regularisers_on():
    m = M.efficientnet_b0(num_classes=10)   # dropout 0.2, stochastic depth up to 0.2
    m.train()
    out = m(minigrad.randn(2, 3, 32, 32))
    F.cross_entropy(out, minigrad.tensor(np.array([1, 2]))).backward()
    assert m.classifier[1].weight.grad is not None


def test_lenet5_classic_c3_connection_table():
    m = M.lenet5(classic=True)
    dense = m.C3.dense_weight().detach().numpy()
    connected = np.abs(dense).sum((2, 3)) > 0
    expected = np.zeros((16, 6), bool)
    from minigrad.models.lenet import C3_TABLE
    for o, inputs in enumerate(C3_TABLE):
        expected[o, list(inputs)] = True
    assert (connected == expected).all()
    assert connected.sum() == 60 and connected[15].all() and connected[:6].sum(1).tolist() == [3] * 6


def test_googlenet_loss_weights_the_auxiliary_heads():
    main, a1, a2 = (minigrad.randn(2, 5) for _ in range(3))
    y = minigrad.tensor(np.array([0, 4]))
    expected = F.cross_entropy(main, y).item() + 0.3 * (F.cross_entropy(a1, y).item() + F.cross_entropy(a2, y).item())
    assert np.isclose(M.googlenet_loss((main, a1, a2), y).item(), expected, rtol=1e-6)
    assert np.isclose(M.googlenet_loss(main, y).item(), F.cross_entropy(main, y).item())


def test_torchvision_initialisation():
    w = M.resnet18().layer4[0].conv2.weight.detach().numpy()
    assert abs(w.std() / np.sqrt(2 / (512 * 9)) - 1) < 0.05     # He normal, fan_out
    m = M.mobilenet_v2()
    assert abs(m.classifier[1].weight.detach().numpy().std() / 0.01 - 1) < 0.05 and not m.classifier[1].bias.detach().numpy().any()
    assert np.abs(M.efficientnet_b0().classifier[1].weight.detach().numpy()).max() <= 1 / np.sqrt(1000)
    w = M.resnet20().layer3[0].conv2.weight.detach().numpy()
    assert abs(w.std() / np.sqrt(2 / (64 * 9)) - 1) < 0.1       # He normal, fan_in (He et al. 2016)
