"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from ..autograd import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """SGD (PyTorch's formula): g += wd p; b = mu b + (1 - dampening) g (b = g at the first step);
    g = g + mu b if nesterov else b; p -= lr g.  Frozen parameters and ``grad=None`` are skipped."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._prepare_step(closure)
        with no_grad():
            for group in self.param_groups:
                lr, wd = float(group["lr"]), float(group["weight_decay"])
                mu, dampening = float(group["momentum"]), float(group["dampening"])
                for p in self._params_with_grad(group):
                    g = self._grad(p, group["maximize"])
                    if wd != 0:
                        g = g + wd * p.array
                    if mu != 0:
                        state = self.state[p]
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = state["momentum_buffer"] = Tensor._wrap(g.copy())
                        else:
                            b = buf.array
                            b *= mu
                            b += (1 - dampening) * g
                        g = g + mu * buf.array if group["nesterov"] else buf.array
                    p.array -= lr * g
                    self._updated(p)
        return loss
