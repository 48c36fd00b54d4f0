"""``minigrad.nn.utils``: gradient clipping and inference helpers."""
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .fusion import fuse_conv_bn, fuse_conv_bn_weights
