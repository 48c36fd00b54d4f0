"""Learning-rate schedulers against torch.optim.lr_scheduler: the same lr (and momentum) sequence over many
steps, with two parameter groups; state-dict round trips through minigrad.save."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad
from minigrad import optim
from minigrad.optim import lr_scheduler as L

torch = pytest.importorskip("torch")
TL = torch.optim.lr_scheduler


def optimizers(kind="SGD", lrs=(0.1, 0.03), **kw):
    """A minigrad and a torch optimizer with one parameter group per lr."""
    mg = [minigrad.zeros(2, requires_grad=True) for _ in lrs]
    th = [torch.zeros(2, requires_grad=True) for _ in lrs]
    return (getattr(optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(mg, lrs)], **kw),
            getattr(torch.optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(th, lrs)], **kw))


def assert_same(opt, topt, sched, tsched):
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
    for g, tg in zip(opt.param_groups, topt.param_groups):
        assert g["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=1e-15)
        for key in ("momentum", "betas"):
            if key in g:
                assert g[key] == pytest.approx(tg[key], rel=1e-12)


def check_both_schedules(make, steps, kind="SGD", lrs=(0.1, 0.03), **kw):
    """Build the same schedule on both sides (``make(L_or_TL, optimizer)``) and compare every step."""
    opt, topt = optimizers(kind, lrs, **kw)
    sched, tsched = make(L, opt), make(TL, topt)
    assert_same(opt, topt, sched, tsched)
    seq = [sched.get_last_lr()[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            opt.step()
            topt.step()
            sched.step()
            tsched.step()
            assert_same(opt, topt, sched, tsched)
            seq.append(sched.get_last_lr()[0])
    return seq, opt, sched


SCHEDULES = {
    "StepLR": (lambda M, o: M.StepLR(o, step_size=7, gamma=0.5), 60),
    "LambdaLR": (lambda M, o: M.LambdaLR(o, lambda e: 0.95 ** e / (1 + e % 3)), 40),
    "LambdaLR-per-group": (lambda M, o: M.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: min(1.0, (e + 1) / 5)]), 30),
    "MultiplicativeLR": (lambda M, o: M.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 0.97), 40),
    "MultiStepLR": (lambda M, o: M.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), 50),
    "ExponentialLR": (lambda M, o: M.ExponentialLR(o, gamma=0.93), 60),
    "CosineAnnealingLR": (lambda M, o: M.CosineAnnealingLR(o, T_max=13, eta_min=0.001), 70),
    "CosineAnnealingLR-zero-min": (lambda M, o: M.CosineAnnealingLR(o, T_max=10), 45),
    "LinearLR": (lambda M, o: M.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=8), 30),
    "LinearLR-decay": (lambda M, o: M.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=11), 30),
    "OneCycleLR-cos": (lambda M, o: M.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=50), 50),
    "OneCycleLR-linear": (lambda M, o: M.OneCycleLR(o, max_lr=0.8, epochs=4, steps_per_epoch=10,
                                                      anneal_strategy="linear", pct_start=0.25), 40),
    "OneCycleLR-three-phase": (lambda M, o: M.OneCycleLR(o, max_lr=0.5, total_steps=60, three_phase=True,
                                                           div_factor=10.0, final_div_factor=100.0), 60),
    "OneCycleLR-no-momentum": (lambda M, o: M.OneCycleLR(o, max_lr=0.5, total_steps=30, cycle_momentum=False,
                                                           pct_start=0.5), 30),
    "SequentialLR-warmup-cosine": (lambda M, o: M.SequentialLR(
        o, [M.LinearLR(o, start_factor=0.01, total_iters=5), M.CosineAnnealingLR(o, T_max=20)], milestones=[5]), 40),
    "SequentialLR-three": (lambda M, o: M.SequentialLR(
        o, [M.ExponentialLR(o, gamma=0.9), M.StepLR(o, step_size=3, gamma=0.5),
            M.MultiStepLR(o, milestones=[2, 4])], milestones=[6, 15]), 30),
    "SequentialLR-onecycle": (lambda M, o: M.SequentialLR(
        o, [M.OneCycleLR(o, max_lr=0.3, total_steps=30), M.ExponentialLR(o, gamma=0.95)], milestones=[10]), 30),
}


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_sequence_matches_torch(name, kind):
    make, steps = SCHEDULES[name]
    kw = {"momentum": 0.9} if kind == "SGD" else {}
    seq, _, _ = check_both_schedules(make, steps, kind, **kw)
    assert len(set(seq)) > 2, "the schedule should change the lr"


def test_onecycle_cycles_adam_beta1_and_sgd_momentum():
    _, opt, _ = check_both_schedules(SCHEDULES["OneCycleLR-cos"][0], 20, "Adam")
    assert 0.85 < opt.param_groups[0]["betas"][0] < 0.95 and opt.param_groups[0]["betas"][1] == 0.999
    _, opt, _ = check_both_schedules(SCHEDULES["OneCycleLR-cos"][0], 15, "SGD", momentum=0.9)
    assert 0.85 < opt.param_groups[0]["momentum"] < 0.95


def test_onecycle_errors():
    opt, _ = optimizers()
    sched = L.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
    with pytest.raises(ValueError, match="total_steps OR"):
        L.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        L.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=2.0)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        L.OneCycleLR(opt, max_lr=[0.1, 0.2, 0.3], total_steps=10)
    with pytest.raises(ValueError, match="momentum or beta1"):
        L.OneCycleLR(optim.Adagrad([minigrad.zeros(1, requires_grad=True)]), max_lr=0.1, total_steps=10)


METRICS = [1.0, 0.9, 0.9, 0.91, 0.95, 0.9, 0.89995, 0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.49, 0.49, 0.49, 0.49,
           0.49, 0.49, 0.49, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("patience,cooldown,min_lr", [(0, 0, 0.0), (2, 0, 0.0), (1, 2, 1e-3), (2, 1, [1e-2, 5e-3])])
def test_reduce_on_plateau_matches_torch(mode, threshold_mode, patience, cooldown, min_lr):
    opt, topt = optimizers()
    kw = dict(mode=mode, factor=0.5, patience=patience, threshold=0.02, threshold_mode=threshold_mode,
              cooldown=cooldown, min_lr=min_lr)
    sched, tsched = L.ReduceLROnPlateau(opt, **kw), TL.ReduceLROnPlateau(topt, **kw)
    sign = 1 if mode == "min" else -1
    for m in METRICS + METRICS:
        sched.step(sign * m)
        tsched.step(sign * m)
        assert_same(opt, topt, sched, tsched)
        assert (sched.best, sched.num_bad_epochs, sched.cooldown_counter) == \
            (tsched.best, tsched.num_bad_epochs, tsched.cooldown_counter)
    assert opt.param_groups[0]["lr"] < 0.1


def test_reduce_on_plateau_accepts_tensor_metric_and_checks_args():
    opt, _ = optimizers()
    sched = L.ReduceLROnPlateau(opt, patience=0)
    sched.step(minigrad.tensor(1.0))
    sched.step(minigrad.tensor(2.0))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.03 * 0.1]
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode 'up' is unknown"):
        L.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="expected 2 min_lrs"):
        L.ReduceLROnPlateau(opt, min_lr=[0.1])


@settings(max_examples=20, deadline=None)
@given(step_size=st.integers(1, 10), gamma=st.floats(0.05, 0.99), T_max=st.integers(1, 20),
       start=st.floats(0.05, 1.0), total=st.integers(1, 12), m1=st.integers(1, 15))
def test_random_hyperparameters_match_torch(step_size, gamma, T_max, start, total, m1):
    check_both_schedules(lambda M, o: M.StepLR(o, step_size, gamma), 25)
    check_both_schedules(lambda M, o: M.CosineAnnealingLR(o, T_max, eta_min=0.0005), 3 * T_max + 2)
    check_both_schedules(lambda M, o: M.SequentialLR(o, [M.LinearLR(o, start_factor=start, total_iters=total),
                                             M.ExponentialLR(o, gamma)], milestones=[m1]), 30)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR-three-phase",
                                  "SequentialLR-warmup-cosine", "SequentialLR-three"])
def test_state_dict_round_trip_through_save(name, tmp_path):
    """Step 12 times, save optimizer + scheduler state, load into fresh ones, continue: same lrs as straight."""
    make, steps = SCHEDULES[name]
    opt, _ = optimizers("SGD", momentum=0.9)
    sched = make(L, opt)
    straight = []
    for i in range(steps):
        opt.step()
        sched.step()
        straight.append(list(sched.get_last_lr()))
        if i == 11:
            minigrad.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ck")
    ck = minigrad.load(tmp_path / "ck")
    opt2, _ = optimizers("SGD", momentum=0.9)
    sched2 = make(L, opt2)
    opt2.load_state_dict(ck["optimizer"])
    sched2.load_state_dict(ck["scheduler"])
    resumed = []
    for _ in range(12, steps):
        opt2.step()
        sched2.step()
        resumed.append(list(sched2.get_last_lr()))
    assert resumed == straight[12:]


def test_reduce_on_plateau_state_dict_round_trip(tmp_path):
    opt, _ = optimizers()
    sched = L.ReduceLROnPlateau(opt, mode="max", patience=1, cooldown=1)
    for m in METRICS[:10]:
        sched.step(m)
    minigrad.save(sched.state_dict(), tmp_path / "s")
    sched2 = L.ReduceLROnPlateau(optimizers()[0])
    sched2.load_state_dict(minigrad.load(tmp_path / "s"))
    assert sched2.state_dict() == sched.state_dict()
    assert sched2.mode_worse == -math.inf


def test_resume_needs_initial_lr():
    opt, _ = optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(opt, step_size=2, last_epoch=5)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), step_size=2)


def test_sequential_lr_errors():
    opt, _ = optimizers()
    other, _ = optimizers()
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        L.SequentialLR(opt, [L.StepLR(opt, 2), L.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        L.SequentialLR(opt, [L.StepLR(opt, 2), L.StepLR(other, 3)], milestones=[3])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        L.SequentialLR(opt, [L.StepLR(opt, 2), L.ReduceLROnPlateau(opt)], milestones=[3])


def test_scheduler_drives_optimizer_lr():
    """The lr the optimizer uses is the scheduler's: SGD on a unit gradient moves by exactly the lr."""
    w = minigrad.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = L.StepLR(opt, step_size=1, gamma=0.5)
    total = 0.0
    for _ in range(4):
        w.grad = minigrad.ones(1)
        total += opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    np.testing.assert_allclose(w.detach().numpy(), [-total])
    assert total == 1.0 + 0.5 + 0.25 + 0.125
