"""Reverse-mode automatic differentiation: the engine (``engine.py``: Function, backward, grad, grad mode,
broadcasting and its adjoint) and the gradient checks (``gradcheck.py``), as ``torch.autograd`` has them."""
from .engine import (Expand, Function, SumTo, backward, enable_grad, grad, is_grad_enabled, no_grad,
                     queue_callback, set_grad_enabled)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "queue_callback", "gradcheck", "gradgradcheck", "GradcheckError"]
