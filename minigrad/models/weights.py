"""Weights for the zoo: ``models.<name>(weights="file.safetensors")`` and ``convert_torch_checkpoint``.

The zoo's state-dict names are torchvision's, so a torchvision checkpoint converted to .safetensors (on a
machine with torch: ``python -m minigrad convert-weights IN.pth OUT.safetensors``) loads here without
torch. A ``num_classes`` different from the file's replaces the head: the classifier layers whose output
size is ``num_classes`` keep their fresh initialisation and everything else is loaded (transfer learning).
"""
from __future__ import annotations

import functools
import inspect
import os

import numpy as np

from .. import nn
from ..serialization import CheckpointError, load, load_safetensors, save_safetensors

_ZIP_MAGIC = b"PK\x03\x04"


def read_state_dict(path):
    """A flat ``{name: Tensor}`` dict from a .safetensors file or a minigrad checkpoint (``minigrad.save``
    of a state dict, or a training job's checkpoint.mg, whose ``"model"`` entry is used)."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name!r}: no such weights file")
    with open(name, "rb") as fh:
        head = fh.read(4)
    if head != _ZIP_MAGIC:
        return load_safetensors(name)
    obj = load(name, map_location="cpu")
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not (isinstance(obj, dict) and all(isinstance(k, str) and hasattr(v, "shape") for k, v in obj.items())):
        raise CheckpointError(f"{name!r}: expected a state dict ({{name: tensor}}) or a training checkpoint with "
                              f"a 'model' entry, found a {type(obj).__name__}")
    return obj


def _head_keys(model, num_classes):
    """State-dict keys of the layers whose output is the class scores: Linear (or 1x1 Conv2d) layers with
    ``num_classes`` outputs (GoogLeNet's auxiliary classifiers count too)."""
    keys = set()
    for prefix, m in model.named_modules():
        out = m.out_features if isinstance(m, nn.Linear) else (
            m.out_channels if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) else None)
        if out == num_classes:
            keys.update(f"{prefix}.{k}" if prefix else k for k in m._local_state())
    return keys


def load_weights(model, path, num_classes=None):
    """Load ``path`` (see :func:`read_state_dict`) into ``model``, all or nothing. With ``num_classes``
    given, head layers (see :func:`_head_keys`) whose shape differs from the file's keep their fresh
    initialisation; any other missing, unexpected or mis-shaped key raises ``CheckpointError`` naming the
    file and the keys, and leaves the model unchanged."""
    name = os.fspath(path)
    state = read_state_dict(name)
    own = model.state_dict()
    head = _head_keys(model, num_classes) if num_classes is not None else set()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    replaced = [k for k in wrong if k in head and tuple(state[k].shape)[1:] == tuple(own[k].shape)[1:]]
    wrong = [k for k in wrong if k not in replaced]
    if missing or unexpected or wrong:
        parts = [f"{what} {len(keys)} key(s): " + ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
                 for what, keys in (("missing", missing), ("unexpected", unexpected)) if keys]
        for k in wrong[:8]:
            parts.append(f"{k} has shape {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model")
        raise CheckpointError(f"{name!r} does not fit {type(model).__name__}: " + "; ".join(parts))
    merged = {k: (own[k] if k in replaced else state[k]) for k in own}
    model.load_state_dict(merged)
    return model


def accepts_weights(builder):
    """Give a zoo builder the keyword ``weights=None``: a path to load after building (see :func:`load_weights`;
    a ``num_classes`` different from the file's replaces the head)."""
    sig = inspect.signature(builder)

    @functools.wraps(builder)
    def build(*args, weights=None, **kw):
        bound = sig.bind(*args, **kw)
        bound.apply_defaults()
        model = builder(*args, **kw)
        if weights is not None:
            load_weights(model, weights, bound.arguments.get("num_classes"))
        return model

    params = list(sig.parameters.values())
    extra = inspect.Parameter("weights", inspect.Parameter.KEYWORD_ONLY, default=None)
    var_kw = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    params = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD] + [extra] + var_kw
    build.__signature__ = sig.replace(parameters=params)
    del build.__wrapped__      # inspect.signature shows ``weights`` too
    build.__doc__ = (builder.__doc__ or "").rstrip() + (
        "\n\n    ``weights``: a .safetensors file (or minigrad checkpoint) to load; a ``num_classes`` different "
        "from the\n    file's replaces the classifier head, which keeps its fresh initialisation.")
    return build


def convert_torch_checkpoint(src, dst):
    """Convert a PyTorch checkpoint (a state dict, or a dict with a ``state_dict`` / ``model`` entry that is
    one) to .safetensors, with ``torch.load(weights_only=True)`` (no code in the file is run). bfloat16
    tensors become float32 (NumPy has no bfloat16). Needs torch; returns the number of tensors written."""
    try:
        import torch
    except ImportError:
        raise ImportError("convert-weights reads PyTorch checkpoints and needs torch (pip install torch); "
                          "the converted .safetensors file then loads without it") from None
    src = os.fspath(src)
    if not os.path.exists(src):
        raise FileNotFoundError(f"{src!r}: no such file")
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:   # torch raises UnpicklingError, RuntimeError, EOFError, ... for bad files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{src!r}: not a loadable PyTorch checkpoint with weights_only=True ({first})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{src!r}: expected a state dict (name -> tensor), found a {type(obj).__name__}")
    strip = all(isinstance(k, str) and k.startswith("module.") for k in obj)   # saved from DataParallel
    arrays = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{src!r}: entry {k!r} is a {type(v).__name__}, not a tensor; expected a "
                                  f"state dict")
        v = v.detach().cpu()
        if v.dtype == torch.bfloat16:
            v = v.float()
        arrays[k[len("module."):] if strip else k] = v.numpy().copy()   # keeps 0-d shapes
    save_safetensors(arrays, dst, metadata={"converted_from": os.path.basename(src)})
    return len(arrays)
