"""Optimizers against torch.optim: 20 steps on the same parameters and gradients, parameter groups, frozen
parameters, state-dict round trips (through minigrad.save), errors."""
import copy
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad
from minigrad import optim

torch = pytest.importorskip("torch")

DEVICES = ["cpu"] + (["cuda"] if minigrad.is_cuda_available() else [])

# (name, kwargs): every option of every optimizer appears at least once.
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-8)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CONFIGS]

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def initial_values(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def grad_fn(a, k):
    """A deterministic nonlinear float32 'gradient' of the parameter values (different per parameter)."""
    return (np.tanh(1.3 * a + 0.1 * k) + np.float32(0.2) * a * a - np.float32(0.3 * (k - 1))).astype(np.float32)


def make_pair(values, device="cpu"):
    mg = [minigrad.tensor(v, device=device, requires_grad=True) for v in values]
    th = [torch.tensor(v, requires_grad=True) for v in values]
    return mg, th


def set_grads(mg, th):
    for k, (p, q) in enumerate(zip(mg, th)):
        g = grad_fn(p.detach().cpu().numpy(), k)
        p.grad = minigrad.tensor(g, device=p.device)
        q.grad = torch.from_numpy(grad_fn(q.detach().numpy(), k))


def set_mg_grads(params):
    for k, p in enumerate(params):
        p.grad = minigrad.tensor(grad_fn(p.detach().cpu().numpy(), k), device=p.device)


def set_torch_grads(params):
    for k, q in enumerate(params):
        q.grad = torch.from_numpy(grad_fn(q.detach().numpy(), k))


def assert_params_close(mg, th, rtol=1e-5, atol=1e-6):
    for p, q in zip(mg, th):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_matches_torch_20_steps(name, kwargs, device):
    mg, th = make_pair(initial_values(), device)
    opt, topt = getattr(optim, name)(mg, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    for _ in range(20):
        opt.zero_grad()
        topt.zero_grad()
        set_grads(mg, th)
        opt.step()
        topt.step()
        assert_params_close(mg, th)
    moved = max(np.abs(p.detach().cpu().numpy() - v).max() for p, v in zip(mg, initial_values()))
    assert moved > 1e-2, "the parameters should have moved"
    # the state has torch's keys and values
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i in tsd["state"]:
        assert sorted(sd["state"][i]) == sorted(tsd["state"][i])
        for key, tv in tsd["state"][i].items():
            np.testing.assert_allclose(np.asarray(sd["state"][i][key].cpu().numpy()), tv.numpy(),
                                       rtol=1e-5, atol=1e-6, err_msg=key)
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert g["params"] == tg["params"]
        for key in g:
            assert key in tg, key
            assert g[key] == tg[key], key


@pytest.mark.parametrize("name,kwargs", [c for c in CONFIGS if c[0] != "SGD" or "momentum" in c[1]][::2])
def test_parameter_groups_frozen_and_gradless(name, kwargs):
    """Two groups with different lr/weight_decay; a frozen parameter with a stale gradient and a parameter
    without a gradient are never touched."""
    values = initial_values(1)
    mg, th = make_pair(values)
    frozen = minigrad.tensor(np.ones(3, np.float32), requires_grad=True)
    unused = minigrad.tensor(np.full(2, 5.0, np.float32), requires_grad=True)
    lr = kwargs["lr"]
    extra = dict(kwargs, lr=lr * 3, weight_decay=0.2)
    opt = getattr(optim, name)([{"params": mg[:2] + [frozen, unused]}, dict(extra, params=[mg[2]])], **kwargs)
    topt = getattr(torch.optim, name)([{"params": th[:2]}, dict(extra, params=[th[2]])], **kwargs)
    frozen.grad = minigrad.ones(3)
    frozen.requires_grad_(False)
    for _ in range(20):
        opt.zero_grad(set_to_none=False)
        topt.zero_grad(set_to_none=False)
        set_grads(mg, th)
        frozen.grad = minigrad.ones(3)
        opt.step()
        topt.step()
    assert_params_close(mg, th)
    np.testing.assert_array_equal(frozen.numpy(), np.ones(3))
    np.testing.assert_array_equal(unused.detach().numpy(), np.full(2, 5.0))
    assert frozen not in opt.state and unused not in opt.state or name == "Adagrad"
    assert opt.param_groups[1]["lr"] == lr * 3 and opt.param_groups[1]["weight_decay"] == 0.2


def mlp_params(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((6, 16)).astype(np.float32) * 0.4, np.zeros(16, np.float32),
            rng.standard_normal((16, 3)).astype(np.float32) * 0.3, np.full(3, 0.1, np.float32)]


def mlp_loss(lib, params, x, y):
    w1, b1, w2, b2 = params
    h = (x @ w1 + b1).relu()
    return ((h @ w2 + b2 - y) ** 2).mean()


@pytest.mark.parametrize("name,kwargs", [CONFIGS[i] for i in (3, 8, 10, 14, 17)])
def test_small_mlp_through_autograd(name, kwargs):
    """Linear-ReLU-Linear written with tensors, losses from autograd, 20 steps against torch."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((32, 6)).astype(np.float32), rng.standard_normal((32, 3)).astype(np.float32)
    mg, th = make_pair(mlp_params())
    opt, topt = getattr(optim, name)(mg, **kwargs), getattr(torch.optim, name)(th, **kwargs)
    for _ in range(20):
        opt.zero_grad()
        topt.zero_grad()
        loss = mlp_loss(minigrad, mg, minigrad.tensor(x), minigrad.tensor(y))
        tloss = mlp_loss(torch, th, torch.tensor(x), torch.tensor(y))
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
        opt.step()
        topt.step()
    assert_params_close(mg, th, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_identically(name, kwargs, tmp_path):
    """10 steps, save (minigrad.save), load into a fresh optimizer over fresh parameters, 10 more steps ==
    20 straight steps, bit for bit."""
    straight, _ = make_pair(initial_values())
    opt = getattr(optim, name)(straight, **kwargs)
    first, _ = make_pair(initial_values())
    opt1 = getattr(optim, name)(first, **kwargs)
    for i in range(20):
        set_mg_grads(straight)
        opt.step()
        if i < 10:
            set_mg_grads(first)
            opt1.step()
    minigrad.save({"params": [p.detach() for p in first], "optimizer": opt1.state_dict()}, tmp_path / "ck")
    ck = minigrad.load(tmp_path / "ck")
    resumed = [minigrad.tensor(p, requires_grad=True) for p in ck["params"]]
    opt2 = getattr(optim, name)(resumed, **{k: v for k, v in kwargs.items() if k != "lr"}, lr=123.0)
    opt2.load_state_dict(ck["optimizer"])
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    for _ in range(10):
        set_mg_grads(resumed)
        opt2.step()
    for p, q in zip(resumed, straight):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_state_dict_loads_into_torch_layout_and_back():
    """A torch optimizer's state dict (tensors converted to minigrad) loads into ours, and continues alike."""
    mg, th = make_pair(initial_values())
    topt = torch.optim.Adam(th, lr=0.01, amsgrad=True)
    for _ in range(5):
        set_torch_grads(th)
        topt.step()
    tsd = topt.state_dict()
    conv = {"state": {i: {k: minigrad.tensor(v.numpy()) for k, v in s.items()} for i, s in tsd["state"].items()},
            "param_groups": [{k: v for k, v in g.items() if k in ("lr", "betas", "eps", "weight_decay", "amsgrad",
                                                                   "maximize", "params")}
                             for g in tsd["param_groups"]]}
    for p, q in zip(mg, th):
        p.array[...] = q.detach().numpy()
    opt = optim.Adam(mg, lr=0.5)
    opt.load_state_dict(conv)
    for _ in range(5):
        set_grads(mg, th)
        opt.step()
        topt.step()
    assert_params_close(mg, th)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[i] for i in (2, 8, 10, 14, 17)])
def test_torch_state_dict_loads_directly(name, kwargs):
    """opt.load_state_dict(torch_opt.state_dict()) then both continue alike."""
    mg, th = make_pair(initial_values())
    topt = getattr(torch.optim, name)(th, **kwargs)
    for _ in range(5):
        set_torch_grads(th)
        topt.step()
    with torch.no_grad():
        for p, q in zip(mg, th):
            p.array[...] = q.numpy()
    opt = getattr(optim, name)(mg, **kwargs)
    opt.load_state_dict(topt.state_dict())
    assert isinstance(opt.state[mg[0]]["step" if name != "SGD" else "momentum_buffer"], minigrad.Tensor)
    for _ in range(5):
        set_grads(mg, th)
        opt.step()
        topt.step()
    assert_params_close(mg, th)


def test_load_state_dict_copies_and_casts():
    p = minigrad.tensor(np.ones(3), requires_grad=True)   # float64 parameter
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    buf = minigrad.tensor(np.full(3, 2.0, np.float32))
    opt.load_state_dict({"state": {0: {"momentum_buffer": buf}}, "param_groups": [
        {"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": False, "maximize": False,
         "params": [0]}]})
    loaded = opt.state[p]["momentum_buffer"]
    assert loaded.dtype == minigrad.float64 and loaded.array is not buf.array
    p.grad = minigrad.ones_like(p)
    opt.step()
    np.testing.assert_array_equal(buf.numpy(), np.full(3, 2.0))  # the source dict is not modified


def test_step_stored_as_a_number_is_accepted():
    """Older checkpoints (and PyTorch before 1.12) keep 'step' as a number: it becomes a float32 tensor."""
    w = minigrad.ones(2, requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    sd = {"state": {0: {"step": 3, "exp_avg": minigrad.zeros(2), "exp_avg_sq": minigrad.zeros(2)}},
          "param_groups": [dict(opt.param_groups[0], params=[0])]}
    opt.load_state_dict(sd)
    w.grad = minigrad.ones(2)
    opt.step()
    assert opt.state[w]["step"].item() == 4.0 and opt.state[w]["step"].dtype == minigrad.float32


def test_load_state_dict_mismatch_errors():
    a, b = (minigrad.zeros(2, requires_grad=True) for _ in range(2))
    opt = optim.SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match="number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(optim.SGD([a], lr=0.1).state_dict())
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"lr": 1})


def test_construction_errors():
    w = minigrad.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([w], lr=-1)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid momentum"):
        optim.RMSprop([w], momentum=-0.1)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optim.Adagrad([w], initial_accumulator_value=-1)


def test_add_param_group_and_repr():
    a, b = minigrad.zeros(2, requires_grad=True), minigrad.zeros(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["lr"] == 0.01
    assert "Parameter Group 1" in repr(opt) and "lr: 0.01" in repr(opt)
    a.grad, b.grad = minigrad.ones(2), minigrad.ones(3)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), -0.1)
    np.testing.assert_allclose(b.detach().numpy(), -0.01)


def test_zero_grad_both_ways():
    a = minigrad.randn(3, requires_grad=True)
    (a * a).sum().backward()
    g = a.grad
    opt = optim.SGD([a], lr=0.1)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros(3))
    assert g.numpy().any(), "a gradient tensor held elsewhere is not zeroed in place"
    opt.zero_grad()
    assert a.grad is None


def test_closure_returns_loss():
    w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with minigrad.no_grad():   # step turns grad mode on for the closure
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.5, -1.0])


def test_step_marks_parameters_modified():
    """A graph that saved a parameter's old value refuses to backward after the step (as in PyTorch)."""
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()
    w.grad = minigrad.ones(2)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_update_leaves_no_graph_and_keeps_dtype_and_identity():
    for dtype in (minigrad.float32, minigrad.float64):
        w = minigrad.randn(4, dtype=dtype, requires_grad=True)
        arr = w.array
        opt = optim.Adam([w], lr=0.1)
        (w * w).sum().backward()
        opt.step()
        assert w.array is arr and w.dtype == dtype and w.is_leaf and w.requires_grad
        assert opt.state[w]["exp_avg"].dtype == dtype and opt.state[w]["step"].dtype == minigrad.float32


@settings(max_examples=int(os.environ.get("MINIGRAD_HYPOTHESIS_EXAMPLES", 15)), deadline=None)
@given(lr=st.floats(1e-4, 0.1), momentum=st.sampled_from([0.0, 0.5, 0.9]), wd=st.sampled_from([0.0, 1e-3, 0.1]),
       beta1=st.floats(0.0, 0.95), beta2=st.floats(0.5, 0.9999), which=st.sampled_from(["SGD", "Adam", "RMSprop"]))
def test_hyperparameters_match_torch(lr, momentum, wd, beta1, beta2, which):
    kwargs = {"SGD": dict(lr=lr, momentum=momentum, weight_decay=wd),
              "Adam": dict(lr=lr, betas=(beta1, beta2), weight_decay=wd),
              "RMSprop": dict(lr=lr, alpha=beta2, momentum=momentum, weight_decay=wd)}[which]
    mg, th = make_pair(initial_values(3))
    opt, topt = getattr(optim, which)(mg, **kwargs), getattr(torch.optim, which)(th, **kwargs)
    for _ in range(10):
        set_grads(mg, th)
        opt.step()
        topt.step()
    # RMSprop with a tiny alpha-average divides by a small root: allow a few float32 ulps more there
    assert_params_close(mg, th, rtol=1e-5, atol=1e-6 if which != "RMSprop" else 1e-5)


def test_deepcopy_of_state_dict_is_independent():
    mg, _ = make_pair(initial_values())
    opt = optim.Adam(mg, lr=0.1)
    set_mg_grads(mg)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    opt.step()
    assert float(sd["state"][0]["step"].item()) == 1.0


def models(batchnorm=False):
    """The same nn model in minigrad and torch (Linear-ReLU-Linear, optionally with a BatchNorm1d)."""
    nn = minigrad.nn
    torch.manual_seed(0)
    if batchnorm:
        # (BatchNorm after the ReLU: right after a Linear it would leave that bias a zero true gradient,
        # whose rounding noise Adam-style optimizers amplify to full steps in both frameworks.)
        tm = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.BatchNorm1d(16),
                                 torch.nn.Linear(16, 3))
        m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 3))
    else:
        tm = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    m.load_state_dict(tm.state_dict())
    return m, tm


MINIMIZING = [(c, i) for c, i in zip(CONFIGS, IDS) if not c[1].get("maximize")]   # maximizing a loss diverges


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("name,kwargs", [c for c, _ in MINIMIZING], ids=[i for _, i in MINIMIZING])
def test_nn_model_20_steps_match_torch(name, kwargs, batchnorm):
    """nn.Sequential(Linear, [BatchNorm1d,] ReLU, Linear) + cross-entropy: 20 optimizer steps equal torch's."""
    m, tm = models(batchnorm)
    opt, topt = getattr(optim, name)(m.parameters(), **kwargs), getattr(torch.optim, name)(tm.parameters(), **kwargs)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    for _ in range(20):
        opt.zero_grad()
        topt.zero_grad()
        loss = minigrad.nn.functional.cross_entropy(m(minigrad.tensor(x)), minigrad.tensor(y))
        tloss = torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    tsd = tm.state_dict()
    for k, v in m.state_dict().items():
        np.testing.assert_allclose(v.numpy(), tsd[k].numpy(), rtol=1e-5, atol=2e-6, err_msg=k)


def test_frozen_backbone_in_nn_model_never_moves():
    """Freezing with requires_grad_(False): the frozen layer's values and the optimizer state stay put."""
    m, _ = models()
    m[0].requires_grad_(False)
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    opt = optim.Adam(m.parameters(), lr=0.1, weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        m(minigrad.randn(4, 6)).sum().backward()
        opt.step()
    after = m.state_dict()
    np.testing.assert_array_equal(after["0.weight"].numpy(), before["0.weight"])
    np.testing.assert_array_equal(after["0.bias"].numpy(), before["0.bias"])
    assert not np.array_equal(after["2.weight"].numpy(), before["2.weight"])
    assert m[0].weight not in opt.state and m[2].weight in opt.state


def test_named_parameters_like_torch():
    m, tm = models()
    opt, topt = optim.SGD(m.named_parameters(), lr=0.1), torch.optim.SGD(tm.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == topt.param_groups[0]["param_names"] == ["0.weight", "0.bias",
                                                                                        "2.weight", "2.bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == topt.state_dict()["param_groups"][0]["param_names"]
    with pytest.raises(ValueError, match="with/without names"):
        optim.SGD([("w", m[0].weight), m[0].bias], lr=0.1)


def _opt_bits(params, opt):
    """Every byte of the parameters and of the optimizer's state, to check a refused step changed nothing."""
    state = [(k, v.numpy().tobytes() if isinstance(v, minigrad.Tensor) else v)
             for p in params for k, v in sorted(opt.state.get(p, {}).items())]
    return [p.detach().numpy().tobytes() for p in params], state


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_step_with_a_bad_gradient_on_the_last_parameter_changes_nothing(name, kwargs):
    params = [minigrad.randn(3, 2, requires_grad=True), minigrad.randn(4, requires_grad=True)]
    opt = getattr(optim, name)(params, **kwargs)
    for p in params:
        p.grad = minigrad.ones_like(p)
    opt.step()                                              # state exists, so a second step could corrupt it
    params[0].grad = minigrad.ones_like(params[0])
    params[1].grad.array = np.ones(5, np.float32)           # bypasses the .grad setter
    before = _opt_bits(params, opt)
    with pytest.raises(RuntimeError, match=r"group 0, param 1 has a gradient of shape \(5,\), expected the "
                                           r"parameter's \(4,\)"):
        opt.step()
    assert _opt_bits(params, opt) == before
    params[1].grad.array = np.ones(4, np.float64)
    with pytest.raises(RuntimeError, match="gradient of dtype float64, expected the parameter's float32"):
        opt.step()
    assert _opt_bits(params, opt) == before


@pytest.mark.skipif("cuda" not in DEVICES, reason="needs a CUDA device (a GPU, or MINIGRAD_SIMULATE_CUDA=1)")
def test_step_with_a_gradient_on_another_device_changes_nothing():
    params = [minigrad.randn(3, 2, device="cuda", requires_grad=True),
              minigrad.randn(4, device="cuda", requires_grad=True)]
    opt = optim.Adam(params)
    for p in params:
        p.grad = minigrad.ones_like(p)
    opt.step()
    params[1].grad.array = np.ones(4, np.float32)           # a host array: bypasses the .grad setter

    def bits():
        return [(k, v.cpu().numpy().tobytes() if isinstance(v, minigrad.Tensor) else v)
                for p in params for k, v in [("", p.detach())] + sorted(opt.state[p].items())]
    before = bits()
    assert len(before) == 2 * 4                             # each parameter and its step, exp_avg, exp_avg_sq
    with pytest.raises(RuntimeError, match=r"group 0, param 1 has a gradient on cpu, expected the parameter's "
                                           r"cuda:0; nothing was updated"):
        opt.step()
    assert bits() == before


def test_step_names_the_parameter_from_named_parameters():
    model = minigrad.nn.Linear(2, 3)
    opt = optim.Adam(model.named_parameters())
    model.weight.grad = minigrad.ones_like(model.weight)
    model.bias.grad = minigrad.ones_like(model.bias)
    model.bias.grad.array = np.ones((1, 3), np.float32)
    with pytest.raises(RuntimeError, match=r"parameter 'bias' \(group 0, param 1\) has a gradient of shape"):
        opt.step()
    assert not opt.state


@pytest.mark.parametrize("key, value", [("lr", float("nan")), ("lr", "0.1"), ("eps", float("inf"))])
def test_step_refuses_a_non_finite_hyperparameter(key, value):
    p = minigrad.randn(3, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = minigrad.ones_like(p)
    opt.param_groups[0][key] = value
    before = p.detach().numpy().tobytes()
    with pytest.raises(ValueError, match=rf"param group 0: expected a finite number for '{key}', got"):
        opt.step()
    assert p.detach().numpy().tobytes() == before and not opt.state


def test_assigning_a_bad_grad_is_refused_at_assignment():
    p = minigrad.randn(3, 2, requires_grad=True)
    with pytest.raises(TypeError, match="expected to be a Tensor or None but got grad of type ndarray"):
        p.grad = np.ones((3, 2), np.float32)
    with pytest.raises(RuntimeError, match=r"assigned grad has shape \(2, 3\), expected the tensor's shape "
                                           r"\(3, 2\)"):
        p.grad = minigrad.ones(2, 3)
    with pytest.raises(RuntimeError, match="assigned grad has dtype minigrad.float64, expected the tensor's "
                                           "dtype minigrad.float32"):
        p.grad = minigrad.ones(3, 2, dtype=minigrad.float64)
    assert p.grad is None
