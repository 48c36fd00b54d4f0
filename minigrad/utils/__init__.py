"""Utilities: ``minigrad.utils.data`` (Dataset, DataLoader, random_split) and ``minigrad.utils.viz``
(``make_dot``: the autograd graph as a Graphviz picture)."""
from . import data, viz
from .viz import make_dot

__all__ = ["data", "viz", "make_dot"]
