"""The optimizer base: parameter groups, per-parameter state, ``zero_grad`` and PyTorch-format state dicts.

An optimizer holds ``param_groups`` (a list of dicts: ``'params'`` plus hyper-parameters) and ``state`` (a
dict from parameter Tensor to a dict of buffers). Subclasses write ``step`` as a plain loop over parameters
that starts with ``self._prepare_step(closure)`` (which checks every gradient and hyper-parameter first, so a
step is all-or-nothing) and works on the raw arrays (``p.array``, ``p.grad.array``) in place, under
``no_grad``: the same formulas, in the same order, as PyTorch's single-tensor ("for-loop") implementations.

Where we differ from PyTorch:
- parameters with ``requires_grad=False`` are skipped even when they hold a stale ``.grad``;
- ``load_state_dict`` copies the loaded state tensors (PyTorch may alias them with the dict it was given);
- ``zero_grad(set_to_none=False)`` gives each gradient a fresh zero array instead of zeroing in place
  (a minigrad gradient array may be shared with another tensor's).
Results agree with PyTorch to float32 rounding, not bit for bit: PyTorch's CPU kernels fuse multiply-adds.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from itertools import chain

import numpy as np

from .. import backend
from ..autograd import enable_grad, no_grad
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``; ``params`` is an iterable of Tensors, of (name, Tensor)
    pairs (``model.named_parameters()``; the names go to the group's ``'param_names'``) or of group dicts."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a Tensor (wrap it in a list: [t])")
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs; use a list instead")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with ``'params'``); missing hyper-parameters take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        param_group = dict(param_group)
        params = param_group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs; use a list instead")
        else:
            params = list(params) if params is not None else []
        if any(isinstance(p, tuple) for p in params):     # model.named_parameters(): keep the names
            if not all(isinstance(p, tuple) and len(p) == 2 for p in params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but param {i} of the group is a "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (param {i}, shape {tuple(p.shape)}): "
                                 f"optimize the leaf it was computed from, or detach it and set requires_grad")
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter appears more than once in the parameter group")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------------------------ stepping
    def step(self, closure=None):
        raise NotImplementedError

    def _prepare_step(self, closure):
        """Run ``closure`` (if any), then check every group's hyper-parameters and every gradient before a
        subclass's ``step`` touches a parameter or its state, so that a bad one leaves everything as it was."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            for key in ("lr", "eps", "weight_decay"):
                if key in group and not (isinstance(group[key], (int, float, np.number))
                                         and np.isfinite(float(group[key]))):
                    raise ValueError(f"param group {gi}: expected a finite number for {key!r}, got "
                                     f"{group[key]!r}")
            names = group.get("param_names")
            for i, p in enumerate(group["params"]):
                if not p.requires_grad or p.grad is None:
                    continue
                g = p.grad.array
                what = None
                if g.shape != p.shape:
                    what = f"a gradient of shape {tuple(g.shape)}, expected the parameter's {tuple(p.shape)}"
                elif g.dtype != p.dtype:
                    what = f"a gradient of dtype {g.dtype}, expected the parameter's {p.dtype}"
                elif backend.device_of(g) != p.device:
                    what = f"a gradient on {backend.device_of(g)}, expected the parameter's {p.device}"
                if what:
                    name = f"{names[i]!r} (group {gi}, param {i})" if names else f"group {gi}, param {i}"
                    raise RuntimeError(f"{type(self).__name__}.step: parameter {name} has {what}; "
                                       f"nothing was updated")
        return loss

    @staticmethod
    def _params_with_grad(group):
        """The parameters of ``group`` that get updated: those that require grad and have a gradient."""
        return [p for p in group["params"] if p.requires_grad and p.grad is not None]

    @staticmethod
    def _grad(p, maximize):
        """The raw gradient array of ``p`` (negated for ``maximize``; checked by ``_prepare_step``); never
        modified in place."""
        g = p.grad.array
        return -g if maximize else g

    @staticmethod
    def _zeros(p):
        return Tensor._wrap(backend.xp_of(p.array).zeros_like(p.array))

    @staticmethod
    def _step_tensor():
        """The step counter: a float32 0-d tensor on the CPU, as PyTorch keeps it."""
        return Tensor._wrap(np.zeros((), dtype=np.float32))

    @staticmethod
    def _updated(p):
        """Mark ``p`` as modified in place, so a graph that saved its old value refuses to backward."""
        p._version[0] += 1

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (default) or to zeros."""
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if set_to_none:
                        p.grad = None
                    else:
                        g = p.grad.array
                        p.grad = Tensor._wrap(backend.xp_of(g).zeros_like(g))

    # ------------------------------------------------------------------------------------ state dicts
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` (PyTorch's format).

        Parameters are numbered in the order of the groups; state tensors are references, not copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): dict(v) for k, v in self.state.items()
                 if not isinstance(k, Tensor) or id(k) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a dict made by ``state_dict()`` (possibly through ``minigrad.save``/``load``, or by the same
        torch.optim optimizer: its CPU tensors are converted)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("expected an optimizer state dict with keys 'state' and 'param_groups', got "
                             + (f"keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict)
                                else type(state_dict).__name__))
        groups, saved_groups = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups: "
                             f"{len(saved_groups)}, the optimizer has {len(groups)}")
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group: group {i} has {len(s['params'])} parameters in the state "
                                 f"dict and {len(g['params'])} in the optimizer")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            p = id_map.get(key)
            if p is None:
                state[key] = copy.deepcopy(value)
                continue
            state[p] = {k: _cast_state(p, k, v) for k, v in value.items()}
        new_groups = []
        for g, s in zip(groups, saved_groups):
            ng = copy.deepcopy({k: v for k, v in s.items() if k != "params"})
            ng["params"] = g["params"]
            for name, default in self.defaults.items():   # options the saved dict predates
                ng.setdefault(name, default)
            new_groups.append(ng)
        self.state = state
        self.param_groups = new_groups


def _cast_state(p, key, value):
    """A copy of a loaded state value, on ``p``'s device (and dtype, for floating buffers; 'step' stays put)."""
    if isinstance(value, np.ndarray) or (key == "step" and isinstance(value, (int, float))):
        value = Tensor._wrap(np.asarray(value))
    elif not isinstance(value, Tensor) and all(hasattr(value, a) for a in ("detach", "cpu", "numpy")):
        value = Tensor._wrap(value.detach().cpu().numpy().copy())   # a torch tensor from torch.optim
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)
    if key == "step":   # a float32 0-d CPU tensor, also when an older dict stored a number
        return Tensor._wrap(np.asarray(backend.to_numpy(value.array), dtype=np.float32).copy())
    arr = backend.to_device(value.array, p.device)
    if p.dtype.kind == "f" and arr.dtype != p.dtype:
        arr = arr.astype(p.dtype)
    elif arr is value.array:
        arr = arr.copy()
    if arr.shape != p.shape and arr.ndim > 0:
        raise ValueError(f"optimizer state {key!r} has shape {tuple(arr.shape)} but its parameter has shape "
                         f"{tuple(p.shape)}")
    return Tensor._wrap(arr)


def lerp_(a, b, w):
    """``a <- a + w (b - a)`` in place, with PyTorch's two-sided formula (exact at w = 1)."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)
