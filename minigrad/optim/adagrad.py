"""Adagrad with learning-rate decay and an initial accumulator value."""
from __future__ import annotations

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (PyTorch's formula): t += 1; g += wd p; clr = lr / (1 + (t - 1) lr_decay); s += g^2;
    p -= clr g / (sqrt(s) + eps).  The state (s = initial_accumulator_value) is made at construction."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            state["sum"] = Tensor._wrap(backend.xp_of(p.array).full_like(
                p.array, float(group["initial_accumulator_value"])))
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._prepare_step(closure)
        with no_grad():
            for group in self.param_groups:
                lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
                wd, eps = float(group["weight_decay"]), float(group["eps"])
                for p in self._params_with_grad(group):
                    g = self._grad(p, group["maximize"])
                    xp = backend.xp_of(p.array)
                    state = self._init_state(p, group)
                    state["step"].array += 1
                    t = float(state["step"].array)
                    if wd != 0:
                        g = g + wd * p.array
                    clr = lr / (1 + (t - 1) * lr_decay)
                    s = state["sum"].array
                    s += g * g
                    std = xp.sqrt(s)
                    std += eps
                    p.array += -clr * g / std
                    self._updated(p)
        return loss
