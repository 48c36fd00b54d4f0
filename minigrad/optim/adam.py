"""Adam (with AMSGrad) and AdamW (decoupled weight decay)."""
from __future__ import annotations

from .. import backend
from ..autograd import no_grad
from .optimizer import Optimizer, lerp_


class Adam(Optimizer):
    """Adam (PyTorch's formula): t += 1; g += wd p (AdamW: p *= 1 - lr wd); m = lerp(m, g, 1 - b1);
    v = b2 v + (1 - b2) g^2; vmax = max(vmax, v) if amsgrad;
    p -= lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._prepare_step(closure)
        with no_grad():
            for group in self.param_groups:
                lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
                beta1, beta2 = (float(b) for b in group["betas"])
                for p in self._params_with_grad(group):
                    g = self._grad(p, group["maximize"])
                    xp = backend.xp_of(p.array)
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = self._step_tensor()
                        state["exp_avg"] = self._zeros(p)
                        state["exp_avg_sq"] = self._zeros(p)
                        if group["amsgrad"]:
                            state["max_exp_avg_sq"] = self._zeros(p)
                    state["step"].array += 1
                    if wd != 0:
                        if group["decoupled_weight_decay"]:
                            p.array *= 1 - lr * wd
                        else:
                            g = g + wd * p.array
                    m, v = state["exp_avg"].array, state["exp_avg_sq"].array
                    lerp_(m, g, 1 - beta1)
                    v *= beta2
                    v += (1 - beta2) * g * g
                    t = float(state["step"].array)
                    step_size = lr / (1 - beta1 ** t)
                    bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
                    if group["amsgrad"]:
                        vmax = state["max_exp_avg_sq"].array
                        xp.maximum(vmax, v, out=vmax)
                        v = vmax
                    denom = xp.sqrt(v) / bias_correction2_sqrt
                    denom += eps
                    p.array += -step_size * m / denom
                    self._updated(p)
        return loss


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, p *= 1 - lr wd before the Adam step (default wd 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
