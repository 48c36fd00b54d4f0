"""minigrad/nn/module.py, parameter.py, containers.py: registration, traversal, modes, dtype moves,
state_dict keys equal to torch's, load_state_dict's all-or-nothing checks, hooks, repr."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from nn_helpers import torch

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


class Net(nn.Module):
    def __init__(self, lib):
        super().__init__()
        self.features = lib.Sequential(lib.Linear(4, 8), lib.BatchNorm1d(8), lib.ReLU())
        self.heads = lib.ModuleList([lib.Linear(8, 3), lib.Linear(8, 2)])
        self.extra = lib.ModuleDict({"norm": lib.LayerNorm(8), "drop": lib.Identity()})
        self.scale = lib.Parameter(minigrad.ones(1) if lib is nn else torch.ones(1))
        self.register_buffer("steps", minigrad.zeros(1) if lib is nn else torch.zeros(1))
        self.register_buffer("cache", minigrad.zeros(2) if lib is nn else torch.zeros(2), persistent=False)

    def forward(self, x):
        h = self.extra["norm"](self.features(x)) * self.scale
        return self.heads[0](h), self.heads[1](h)


class TorchNet(torch.nn.Module if torch is not None else object):
    def __init__(self):
        super().__init__()
        lib = torch.nn
        self.features = lib.Sequential(lib.Linear(4, 8), lib.BatchNorm1d(8), lib.ReLU())
        self.heads = lib.ModuleList([lib.Linear(8, 3), lib.Linear(8, 2)])
        self.extra = lib.ModuleDict({"norm": lib.LayerNorm(8), "drop": lib.Identity()})
        self.scale = lib.Parameter(torch.ones(1))
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)


def small_cnn(lib):
    return lib.Sequential(lib.Conv2d(3, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
                          lib.Flatten(), lib.Linear(4 * 2 * 2, 5))


# ------------------------------------------------------------------------------------ registration

def test_registration_by_assignment():
    net = Net(nn)
    assert set(net._parameters) == {"scale"} and set(net._modules) == {"features", "heads", "extra"}
    assert set(net._buffers) == {"steps", "cache"}
    assert isinstance(net.scale, nn.Parameter) and net.scale.requires_grad
    with pytest.raises(TypeError, match="nn.Parameter or None expected"):
        net.scale = minigrad.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    net.plain = minigrad.ones(2)                        # a plain tensor attribute is not registered
    assert "plain" not in dict(net.named_parameters()) and "plain" not in dict(net.named_buffers())
    del net.heads
    assert "heads" not in net._modules
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'heads'"):
        net.heads
    with pytest.raises(KeyError, match="empty or contain"):
        net.register_buffer("a.b", minigrad.zeros(1))
    with pytest.raises(TypeError, match="Tensor or None required"):
        net.register_buffer("b", 3.0)


def test_assignment_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Bad()


def test_parameter_is_a_tensor_sharing_memory():
    t = minigrad.randn(3)
    p = nn.Parameter(t)
    assert isinstance(p, minigrad.Tensor) and isinstance(p, nn.Parameter) and p.requires_grad
    assert p.array is t.array
    assert not isinstance(p * 2, nn.Parameter)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(t, requires_grad=False).requires_grad


# ------------------------------------------------------------------------------------ traversal

@requires_torch
def test_traversal_names_match_torch():
    net, tnet = Net(nn), TorchNet()
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [n for n, _ in net.named_children()] == [n for n, _ in tnet.named_children()]
    assert [n for n, _ in net.named_parameters(prefix="m", recurse=False)] == ["m.scale"]
    assert len(list(net.parameters())) == len(list(tnet.parameters()))
    assert net.get_submodule("features.0") is net.features[0]


def test_shared_parameters_appear_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.modules())) == 3
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]     # as torch keeps them
    assert not seq.load_state_dict(seq.state_dict()).missing_keys


def test_apply_train_eval_requires_grad_zero_grad():
    net = Net(nn)
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 3
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.features.requires_grad_(False)
    assert not any(p.requires_grad for p in net.features.parameters())
    assert all(p.requires_grad for p in net.heads.parameters())
    out = net(minigrad.randn(5, 4))
    (out[0].sum() + out[1].sum()).backward()
    assert all(p.grad is None for p in net.features.parameters())
    assert all(p.grad is not None for p in net.heads.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.heads.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_dtype_keeps_identity_and_int_buffers():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    w = m[0].weight
    m(minigrad.randn(2, 3)).sum().backward()
    assert m.double() is m
    assert m[0].weight is w and w.dtype == minigrad.float64 and w.grad.dtype == minigrad.float64
    assert m[1].running_mean.dtype == minigrad.float64
    assert m[1].num_batches_tracked.dtype == minigrad.int64
    m.to(minigrad.float32)
    assert w.dtype == minigrad.float32
    m.to("cpu")
    assert w.device == "cpu"
    with pytest.raises(TypeError, match="floating point"):
        m.to(minigrad.int64)


def test_deepcopy():
    m = small_cnn(nn)
    m2 = copy.deepcopy(m)
    assert m2[0].weight is not m[0].weight and isinstance(m2[0].weight, nn.Parameter)
    np.testing.assert_array_equal(m2[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    with minigrad.no_grad():
        m2[0].weight.fill_(0)
    assert float(m[0].weight.abs().sum()) > 0


# ------------------------------------------------------------------------------------ state dict

@requires_torch
def test_state_dict_keys_equal_torch():
    m, tm = small_cnn(nn), small_cnn(torch.nn)
    sd, tsd = m.state_dict(), tm.state_dict()
    assert list(sd) == list(tsd)
    assert "1.num_batches_tracked" in sd and sd["1.num_batches_tracked"].dtype == minigrad.int64
    assert sd["1.num_batches_tracked"].shape == ()
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
    assert list(Net(nn).state_dict()) == list(TorchNet().state_dict())       # non-persistent buffer left out
    assert isinstance(sd, OrderedDict)


@requires_torch
def test_weights_move_both_ways_with_torch():
    m, tm = small_cnn(nn), small_cnn(torch.nn)
    tm.train()
    tm(torch.randn(3, 3, 4, 4))                     # non-trivial running statistics
    assert not m.load_state_dict(tm.state_dict()).missing_keys
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), tm.state_dict()[k].numpy())
    tm2 = small_cnn(torch.nn)
    tm2.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    m.eval(), tm2.eval()
    np.testing.assert_allclose(m(minigrad.tensor(x)).detach().numpy(), tm2(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_state_dict_shares_memory_and_detaches():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad and sd["weight"].array is m.weight.array
    assert m.state_dict(keep_vars=True)["weight"] is m.weight
    assert list(m.state_dict(prefix="fc.")) == ["fc.weight", "fc.bias"]


def _snapshot(m):
    return {k: v.numpy().copy() for k, v in m.state_dict().items()}


def _unchanged(m, snap):
    return all(np.array_equal(v.numpy(), snap[k]) for k, v in m.state_dict().items())


def test_load_state_dict_missing_unexpected_wrong_shape_load_nothing():
    m, src = small_cnn(nn), small_cnn(nn)
    snap = _snapshot(m)
    sd = src.state_dict()

    bad = OrderedDict(sd)
    del bad["5.bias"]
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "5.bias"'):
        m.load_state_dict(bad)
    assert _unchanged(m, snap)

    bad = OrderedDict(sd)
    bad["5.extra"] = minigrad.zeros(1)
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "5.extra"'):
        m.load_state_dict(bad)
    assert _unchanged(m, snap)

    bad = OrderedDict(sd)
    bad["0.weight"] = minigrad.zeros(4, 3, 5, 5)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with shape "
                                           r"\(4, 3, 5, 5\) from checkpoint, the shape in current model is "
                                           r"\(4, 3, 3, 3\)"):
        m.load_state_dict(bad)
    assert _unchanged(m, snap)
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):        # also with strict=False
        m.load_state_dict(bad, strict=False)
    assert _unchanged(m, snap)


def test_load_state_dict_non_strict_returns_named_lists():
    m, src = small_cnn(nn), small_cnn(nn)
    sd = OrderedDict(src.state_dict())
    del sd["1.running_var"]
    sd["head.weight"] = minigrad.zeros(1)
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["head.weight"]
    missing, unexpected = result
    assert missing == ["1.running_var"]
    np.testing.assert_array_equal(m[0].weight.detach().numpy(), src[0].weight.detach().numpy())
    assert repr(m.load_state_dict(src.state_dict())) == "<All keys matched successfully>"


@requires_torch
def test_load_state_dict_without_num_batches_tracked_like_torch():
    # old PyTorch checkpoints, and weights converted from other frameworks, have no num_batches_tracked:
    # torch loads them with strict=True and keeps the module's current count
    m, tm = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    with minigrad.no_grad():
        m.num_batches_tracked.add_(4)
    tm.num_batches_tracked += 4
    sd = OrderedDict((k, v) for k, v in tm.state_dict().items() if k != "num_batches_tracked")
    sd["running_mean"] = torch.full((3,), 0.5)
    assert repr(tm.load_state_dict(sd)) == "<All keys matched successfully>"
    assert repr(m.load_state_dict(sd)) == "<All keys matched successfully>"
    assert m.num_batches_tracked.item() == tm.num_batches_tracked.item() == 4
    np.testing.assert_array_equal(m.running_mean.numpy(), tm.running_mean.numpy())
    # other missing keys are still reported, in a container too
    seq = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3))
    sd = OrderedDict((k, v) for k, v in seq.state_dict().items() if not k.endswith(("num_batches_tracked", "bias")))
    result = seq.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["0.bias", "1.bias"] and result.unexpected_keys == []


def test_load_state_dict_copies_and_casts():
    m = nn.Linear(2, 3)
    w = m.weight
    m.load_state_dict({"weight": np.ones((3, 2)), "bias": minigrad.zeros(3, dtype=minigrad.float64)})
    assert m.weight is w and w.dtype == minigrad.float32
    np.testing.assert_array_equal(w.detach().numpy(), np.ones((3, 2)))


# ------------------------------------------------------------------------------------ hooks

def test_forward_hooks():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    acts = {}
    h = m[1].register_forward_hook(lambda mod, args, out: acts.__setitem__("relu", out))
    x = minigrad.randn(5, 3)
    y = m(x)
    assert acts["relu"].shape == (5, 4) and float(acts["relu"].amin()) >= 0
    h.remove()
    acts.clear()
    m(x)
    assert not acts
    h2 = m[2].register_forward_hook(lambda mod, args, out: out * 0)
    assert float(m(x).abs().sum()) == 0
    h2.remove()
    pre = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    np.testing.assert_allclose(m(x).detach().numpy(), m(minigrad.zeros(5, 3)).detach().numpy())
    pre.remove()
    np.testing.assert_allclose(m(x).detach().numpy(), y.detach().numpy())


# ------------------------------------------------------------------------------------ repr

@requires_torch
def test_repr_matches_torch():
    assert repr(small_cnn(nn)) == repr(small_cnn(torch.nn))
    assert repr(Net(nn)).replace("Net", "X") == repr(TorchNet()).replace("TorchNet", "X")
    for make in [lambda l: l.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1, bias=False),
                 lambda l: l.Conv2d(2, 4, 3, padding="same", padding_mode="reflect", groups=2, dilation=2),
                 lambda l: l.AvgPool2d(3, 2), lambda l: l.AdaptiveAvgPool2d((2, 3)), lambda l: l.Dropout(0.2),
                 lambda l: l.Dropout2d(), lambda l: l.LocalResponseNorm(3), lambda l: l.GroupNorm(2, 4),
                 lambda l: l.LayerNorm([3, 4]), lambda l: l.BatchNorm1d(3, momentum=None, affine=False),
                 lambda l: l.LeakyReLU(0.2), lambda l: l.GELU("tanh"), lambda l: l.Softmax(dim=-1),
                 lambda l: l.LogSoftmax(1), lambda l: l.ReLU(inplace=True), lambda l: l.ELU(),
                 lambda l: l.Hardtanh(), lambda l: l.Softplus(), lambda l: l.SiLU(), lambda l: l.ReLU6(),
                 lambda l: l.Sigmoid(), lambda l: l.Tanh(), lambda l: l.Flatten(), lambda l: l.MSELoss()]:
        assert repr(make(nn)) == repr(make(torch.nn))


# ------------------------------------------------------------------------------------ containers

def test_sequential_indexing_slicing_append():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is layers[1]
    assert list(s) == layers
    s.append(nn.Sigmoid())
    assert len(s) == 4 and list(s.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    s[3] = nn.Tanh()
    assert isinstance(s[3], nn.Tanh)
    del s[1]
    assert [k for k, _ in s.named_children()] == ["0", "1", "2"] and isinstance(s[1], nn.Linear)
    s.insert(1, nn.ReLU())
    assert isinstance(s[1], nn.ReLU) and len(s) == 4
    with pytest.raises(IndexError):
        s[10]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    assert named(minigrad.randn(4, 2)).shape == (4, 2)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    assert len(ml) == 5 and isinstance(ml[-1], nn.Tanh) and isinstance(ml[1:3], nn.ModuleList)
    del ml[0]
    assert [k for k, _ in ml.named_children()] == ["0", "1", "2", "3"]
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Linear(1, 2)
    assert list(md.keys()) == ["a", "b"] and "b" in md and len(md) == 2
    assert list(md.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    md.pop("a")
    assert list(md) == ["b"]
    pl = nn.ParameterList([nn.Parameter(minigrad.ones(2)), minigrad.zeros(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter) and list(pl.state_dict()) == ["0", "1"]


def test_train_calls_each_childs_train():
    """A sub-module that overrides train() (to keep its BatchNorm frozen, say) is respected."""
    class FrozenBN(nn.BatchNorm1d):
        def train(self, mode=True):
            return super().train(False)

    m = nn.Sequential(nn.Linear(2, 3), FrozenBN(3))
    m.train()
    assert m.training and m[0].training and not m[1].training


def test_zero_grad_in_place():
    lin = nn.Linear(2, 2)
    lin(minigrad.randn(3, 2)).sum().backward()
    g = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is g and float(g.abs().sum()) == 0


@requires_torch
def test_replacing_a_layer_keeps_its_place():
    m, tm = small_cnn(nn), small_cnn(torch.nn)
    m[0] = nn.Conv2d(3, 4, 5, padding=2)
    tm[0] = torch.nn.Conv2d(3, 4, 5, padding=2)
    m[0].bias = nn.Parameter(minigrad.zeros(4))
    tm[0].bias = torch.nn.Parameter(torch.zeros(4))
    assert list(m.state_dict()) == list(tm.state_dict()) and repr(m) == repr(tm)


def _bits(m):
    return {k: (v.numpy().dtype, v.numpy().tobytes()) for k, v in m.state_dict().items()}


@pytest.mark.parametrize("value, error, expected", [
    (np.array(["a", "b"]), TypeError, r"'1\.bias' has dtype <U1, expected a bool, integer or floating"),
    (np.array([1 + 2j, 3j]), TypeError, r"'1\.bias' has dtype complex128, expected"),
    (np.array([object(), object()]), TypeError, r"'1\.bias' has dtype object, expected"),
    (np.array([1e39, 0.0]), ValueError, r"'1\.bias' does not fit float32: 1e\+39"),
])
def test_load_state_dict_bad_value_in_a_later_key_loads_nothing(value, error, expected):
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    sd = {k: minigrad.zeros(*v.shape) for k, v in m.state_dict().items()}
    sd["1.bias"] = value
    before = _bits(m)
    with pytest.raises(error, match=expected):
        m.load_state_dict(sd)
    assert _bits(m) == before


def test_load_state_dict_value_out_of_an_integer_range_is_refused():
    m = nn.BatchNorm1d(2)
    sd = dict(m.state_dict())
    sd["num_batches_tracked"] = np.array(2.0 ** 70)
    before = _bits(m)
    with pytest.raises(ValueError, match=r"'num_batches_tracked' does not fit int64"):
        m.load_state_dict(sd)
    assert _bits(m) == before
