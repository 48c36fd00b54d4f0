"""``minigrad.nn.utils``: gradient clipping and inference helpers."""
from .fusion import fuse_conv_bn, fuse_conv_bn_weights
