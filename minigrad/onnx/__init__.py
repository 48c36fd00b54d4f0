"""``minigrad.onnx.export(model, example_input, path, opset=17)``: an ONNX file from one eval-mode forward.

The exporter runs the model once on ``example_input`` and records what ran: each Function the engine
applies (``minigrad.ops``) and, for the layers that ONNX has as one operator (Linear -> Gemm, BatchNorm ->
BatchNormalization, LocalResponseNorm -> LRN, ReLU6 -> Clip, Hardswish -> HardSwish, Dropout, ...), the
module call itself. Values that do not depend on the input (weights, buffers, reshaped weights, scalars)
become initializers. The result is checked with ``onnx.checker.check_model(full_check=True)``. Needs the
optional ``onnx`` package (``pip install minigrad[onnx]``); importing this module does not.
"""
from .export import export
from .graph import ExportError

__all__ = ["export", "ExportError"]
