"""``nn.Module``: the base class of layers and models, with PyTorch's registration, traversal,
``state_dict`` and hook semantics.

Parameters, buffers and sub-modules are registered by attribute assignment (``self.fc = Linear(2, 3)``)
and kept in three ordered dicts; traversal, ``state_dict`` keys and ``repr`` follow that order, so the keys
of a module equal PyTorch's for the same architecture and weights move between the two by name.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend, dtypes
from ..autograd import no_grad
from ..tensor import Tensor
from .parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns (PyTorch's NamedTuple): the keys it did not find and did not use."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook (also a context manager)."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(s, n):
    lines = s.split("\n")
    return lines[0] if len(lines) == 1 else "\n".join([lines[0]] + [" " * n + line for line in lines[1:]])


def _to_array(value, like: Tensor, key):
    """The raw values of a state-dict entry (a minigrad or torch Tensor, or an array) on ``like``'s device."""
    if isinstance(value, Tensor):
        a = value.array
    elif hasattr(value, "detach") and hasattr(value, "numpy"):     # a torch.Tensor, without importing torch
        a = value.detach().cpu().numpy()
    else:
        try:
            a = np.asarray(value)
        except Exception:
            raise TypeError(f"load_state_dict: the value for {key!r} is a {type(value).__name__}, "
                            f"expected a Tensor or an array") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"load_state_dict: the value for {key!r} has dtype {a.dtype}, expected a bool, "
                        f"integer or floating array castable to {like.dtype}")
    return backend.to_device(a, like.device)


def _cast_checked(a, like: Tensor, key):
    """``a`` as a new array of ``like``'s dtype; raises, naming ``key``, when a value does not fit (1e39 into
    float32, nan or 300 into uint8), so that a bad value is found before anything is copied."""
    xp = backend.xp_of(a)
    with np.errstate(all="ignore"):
        out = a.astype(like.dtype, copy=True)
    if a.size and a.dtype != like.dtype:
        if like.dtype.kind == "f":
            bad = xp.isfinite(a) & ~xp.isfinite(out) if a.dtype.kind == "f" else ~xp.isfinite(out)
        elif like.dtype.kind in "iu" and a.dtype.kind in "fiu":
            info = np.iinfo(like.dtype)
            fin = xp.isfinite(a) if a.dtype.kind == "f" else True
            bad = ~fin | (a < info.min) | (a > info.max)
        else:
            bad = False
        if bool(xp.any(bad)):
            i = int(xp.argmax(xp.asarray(bad).ravel()))
            raise ValueError(f"load_state_dict: the value for {key!r} does not fit {like.dtype}: "
                             f"{a.ravel()[i].item()!r} (at flat index {i}) in a {a.dtype} array")
    return out


class Module:
    """Base class for all layers and models. Subclasses call ``super().__init__()`` then assign parameters
    and sub-modules as attributes, and write ``forward``; call the module itself, not ``forward``."""

    training: bool
    _version = 1
    _optional_state = ()     # state names a checkpoint may lack (PyTorch fills them in; see _BatchNorm)

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        for hook in tuple(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def register_forward_hook(self, hook, *, prepend=False):
        """``hook(module, args, output)`` runs after ``forward``; a non-None return replaces the output."""
        return self._add_hook(self._forward_hooks, hook, prepend)

    def register_forward_pre_hook(self, hook, *, prepend=False):
        """``hook(module, args)`` runs before ``forward``; a non-None return replaces the arguments."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend)

    @staticmethod
    def _add_hook(hooks, hook, prepend):
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # ------------------------------------------------------------------------------------ registration
    def _check_name(self, name, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{what} name can't be empty or contain \".\", got {name!r}")

    def register_parameter(self, name, param):
        """Add ``param`` (a Parameter, or None for an absent one such as ``bias=False``) as ``name``."""
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a tensor that is state but not a parameter (BatchNorm's running mean). Persistent buffers
        are in ``state_dict``; None registers an absent buffer."""
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            f"(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module (or None) as ``name``."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_name(name, "parameter")
            self._forget(name, "_parameters")
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._check_name(name, "module")
            self._forget(name, "_modules")
            d["_modules"][name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                f"(nn.Module or None expected)")
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Drop ``name`` from every registry but ``keep`` (where it is about to be set, in place, so a
        replaced layer keeps its position in state_dict and repr, as in PyTorch)."""
        self.__dict__.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                self.__dict__[key].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key in d and name in d[key]:
                return d[key][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(key, ()):
                del self.__dict__[key][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def get_submodule(self, target):
        """The sub-module at dotted path ``target`` (``'layer1.0.conv1'``); '' is the module itself."""
        mod = self
        for part in target.split(".") if target else ():
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule `{part}` (looking up {target!r})")
            mod = mod._modules[part]
        return mod

    # ------------------------------------------------------------------------------------ traversal
    def _named_members(self, get, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for k, v in get(mod):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (mod_prefix + "." if mod_prefix else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs, names dotted like ``'0.weight'``; shared parameters appear once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) pairs for this module ('' or ``prefix``) and every descendant, depth first."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            kids = [((name + "." if name else "") + k, m) for k, m in mod._modules.items() if m is not None]
            stack.extend(reversed(kids))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def apply(self, fn):
        """Call ``fn`` on every sub-module (children first) and then on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------------------------ modes, grads
    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode on this module and all sub-modules."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():          # each child's own train() runs (a subclass may override it)
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Turn gradient recording of every parameter on or off (``False`` freezes the module)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's ``.grad``: to None (the default) or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None or p.grad.requires_grad:
                    p.grad = p.grad.detach()
                with no_grad():
                    p.grad.zero_()

    # ------------------------------------------------------------------------------------ devices, dtypes
    def _apply(self, fn):
        """Replace the array of every parameter, gradient and buffer by ``fn(array)``, in place, so that
        references to the parameters (an optimizer's, say) stay valid."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is None:
                    continue
                p.array = fn(p.array)
                if p.grad is not None:
                    p.grad = Tensor._wrap(fn(p.grad.array))
            for name, b in m._buffers.items():
                if b is not None:
                    b.array = fn(b.array)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """``m.to('cuda')``, ``m.to(minigrad.float64)``, ``m.to(device, dtype)``, ``m.to(tensor)``. A dtype
        applies to floating parameters and buffers only (``num_batches_tracked`` stays int64)."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, backend.Device)):
                device = a
            elif a is not None:
                dtype = a
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        dev = backend.device(device) if device is not None else None

        def convert(a):
            if dev is not None:
                a = backend.to_device(a, dev)
            if dtype is not None and a.dtype.kind == "f" and a.dtype != dtype:
                a = a.astype(dtype)
            return a
        return self._apply(convert)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device if isinstance(device, str) else f"cuda:{int(device)}")

    # ------------------------------------------------------------------------------------ state dict
    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An OrderedDict from dotted names to parameters and persistent buffers (detached, sharing
        memory unless ``keep_vars``), in registration order: the same keys PyTorch gives."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _local_state(self):
        """This module's own entries (name -> tensor) that ``load_state_dict`` fills."""
        local = {n: p for n, p in self._parameters.items() if p is not None}
        local.update((n, b) for n, b in self._buffers.items()
                     if b is not None and n not in self._non_persistent_buffers_set)
        return local

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` (minigrad or torch tensors, or arrays) into the parameters and
        buffers with the same names. Every key is checked before anything is copied: with ``strict=True``
        a missing or unexpected key raises (naming each one) and nothing is loaded; a shape mismatch always
        raises. Returns ``(missing_keys, unexpected_keys)``. Values are cast to each target's dtype, into new
        arrays, before anything is copied: complex, object or string values and values that do not fit the
        target's dtype (1e39 into float32) raise, naming the key, and leave the module unchanged."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        targets, optional = {}, set()
        for mod_prefix, mod in self.named_modules(remove_duplicate=False):    # a shared module: every name
            pre = mod_prefix + "." if mod_prefix else ""
            for name, t in mod._local_state().items():
                targets[pre + name] = t
            optional.update(pre + name for name in mod._optional_state)
        missing = [k for k in targets if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict.keys() if k not in targets]
        errors, arrays = [], {}
        for key, t in targets.items():
            if key not in state_dict:
                continue
            a = _to_array(state_dict[key], t, key)
            if tuple(a.shape) != tuple(t.shape):
                errors.append(f'size mismatch for {key}: copying a param with shape {tuple(a.shape)} from '
                              f'checkpoint, the shape in current model is {tuple(t.shape)}.')
                continue
            arrays[key] = _cast_checked(a, t, key)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for key, a in arrays.items():
                t = targets[key]
                if assign:
                    t.array = a
                else:
                    t.copy_(Tensor._wrap(a))
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------------------------ repr
    def extra_repr(self):
        """The text inside this module's parentheses in ``repr`` (layers override it)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for key, m in self._modules.items():
            lines.append(f"({key}): " + _addindent(repr(m), 2))
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
