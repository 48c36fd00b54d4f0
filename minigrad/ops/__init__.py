"""The primitives, grouped by kind. ``minigrad.ops.X`` is the one place each op is defined."""
from .elementwise import (abs, add, cast, clamp, clip, clone, cos, div, eq, exp, ge, gt, isfinite, isinf, isnan,
                          le, log, logical_and, logical_not, logical_or, lt, masked_fill, maximum, minimum, mul,
                          ne, neg, pow, relu, rsqrt, sigmoid, sign, sin, sqrt, sub, tanh, to_device, where)
from .linalg import bmm, linear, matmul
from .reduce import (all, amax, amin, any, argmax, argmin, log_softmax, logsumexp, max, mean, min, norm,
                     softmax, std, sum, sum_to, var)
from .shape import (broadcast_to, cat, chunk, expand, flatten, getitem, index_key, permute, repeat, reshape,
                    split, squeeze, stack, transpose, unsqueeze, view)
from .cumulative import cumprod, cumsum
from .division import allclose, floor_divide, isclose, remainder
from .einsum import einsum
from .index import flip, gather, index_select, nonzero, roll, scatter, scatter_add
from .sort import argsort, sort, topk
