"""Reverse-mode automatic differentiation: the engine (``engine.py``: Function, backward, grad, grad mode,
broadcasting and its adjoint), the public Function with PyTorch's ctx form (``function.py``), the gradient
checks (``gradcheck.py``) and anomaly detection (``anomaly.py``), as ``torch.autograd`` has them."""
from .engine import (Expand, SumTo, backward, enable_grad, grad, inference_mode, is_grad_enabled, no_grad,
                     queue_callback, set_grad_enabled)
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["Function", "FunctionCtx", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "queue_callback", "gradcheck", "gradgradcheck", "GradcheckError",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]
