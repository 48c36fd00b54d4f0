"""``minigrad.nn``: modules, layers, initialisation and the functional namespace ``nn.functional``."""
from . import functional, utils
