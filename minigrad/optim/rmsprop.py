"""RMSprop, plain or centered, with optional momentum."""
from __future__ import annotations

from .. import backend
from ..autograd import no_grad
from .optimizer import Optimizer, lerp_


class RMSprop(Optimizer):
    """RMSprop (PyTorch's formula): g += wd p; s = alpha s + (1 - alpha) g^2; centered: a = lerp(a, g, 1 - alpha),
    d = sqrt(s - a^2) + eps, else d = sqrt(s) + eps; momentum: b = mu b + g / d, p -= lr b; else p -= lr g / d."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._prepare_step(closure)
        with no_grad():
            for group in self.param_groups:
                lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
                wd, mu = float(group["weight_decay"]), float(group["momentum"])
                for p in self._params_with_grad(group):
                    g = self._grad(p, group["maximize"])
                    xp = backend.xp_of(p.array)
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = self._step_tensor()
                        state["square_avg"] = self._zeros(p)
                        if mu > 0:
                            state["momentum_buffer"] = self._zeros(p)
                        if group["centered"]:
                            state["grad_avg"] = self._zeros(p)
                    state["step"].array += 1
                    if wd != 0:
                        g = g + wd * p.array
                    s = state["square_avg"].array
                    s *= alpha
                    s += (1 - alpha) * g * g
                    if group["centered"]:
                        a = state["grad_avg"].array
                        lerp_(a, g, 1 - alpha)
                        avg = xp.sqrt(s - a * a)
                    else:
                        avg = xp.sqrt(s)
                    avg += eps
                    if mu > 0:
                        b = state["momentum_buffer"].array
                        b *= mu
                        b += g / avg
                        p.array -= lr * b
                    else:
                        p.array += -lr * g / avg
                    self._updated(p)
        return loss
