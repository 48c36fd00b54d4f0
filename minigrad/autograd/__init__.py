"""Reverse-mode automatic differentiation: the engine (``engine.py``: Function, backward, grad, grad mode,
broadcasting and its adjoint), the gradient checks (``gradcheck.py``) and anomaly detection
(``anomaly.py``), as ``torch.autograd`` has them."""
from .engine import (Expand, Function, SumTo, backward, enable_grad, grad, is_grad_enabled, no_grad,
                     set_grad_enabled)
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "gradcheck", "gradgradcheck", "GradcheckError", "detect_anomaly", "set_detect_anomaly",
           "is_anomaly_enabled"]
