"""LeNet-5: the modern form (ReLU, max-pool) and LeCun et al. 1998 as published (``classic=True``).

Input 1x32x32 (MNIST's 28x28 digits padded by 2). Names follow the paper: C1, S2, C3, S4, C5, F6, output.
"""
import numpy as np

import minigrad
import minigrad.nn.functional as F

from .. import nn
from .weights import accepts_weights

# Table I of LeCun et al. 1998: which S2 maps each of C3's 16 maps sees.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class LeNet5(nn.Module):
    """Modern LeNet-5: conv5x5(6)-ReLU-maxpool, conv5x5(16)-ReLU-maxpool, 120-84-classes. 61,706 parameters."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),   # C1: 6x28x28, S2: 6x14x14
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),            # C3: 16x10x10, S4: 16x5x5
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),                      # C5
            nn.Linear(120, 84), nn.ReLU(),                              # F6
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


class ScaledTanh(nn.Module):
    """LeCun's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 (so f(1) = 1, f(-1) = -1)."""

    def __init__(self, A=1.7159, S=2.0 / 3.0):
        super().__init__()
        self.A, self.S = A, S

    def forward(self, x):
        return (x * self.S).tanh() * self.A

    def extra_repr(self):
        return f"A={self.A}, S={self.S:.4f}"


class Subsampling(nn.Module):
    """Trainable subsampling (S2, S4): sum of each 2x2 block, times a per-map coefficient, plus a per-map bias.

    2 parameters per map; the squashing function is applied after it, as a separate module.
    """

    def __init__(self, channels, kernel_size=2):
        super().__init__()
        self.channels, self.kernel_size = channels, kernel_size
        self.weight = nn.Parameter(minigrad.ones(channels))
        self.bias = nn.Parameter(minigrad.zeros(channels))

    def forward(self, x):
        k = self.kernel_size
        pooled = F.avg_pool2d(x, k) * float(k * k)  # the 2x2 sum
        return pooled * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def macs(self, inputs, output):
        return output.numel()  # one multiply per output unit (the block sum is additions)

    def extra_repr(self):
        return f"{self.channels}, kernel_size={self.kernel_size}"


class PartialConv2d(nn.Module):
    """C3: a convolution where output map j sees only the input maps ``table[j]`` (LeNet-5's Table I).

    ``weight`` holds only the connected kernels, stacked: shape (sum(len(t) for t in table), kH, kW); one bias
    per output map. Forward scatters them into a dense (out, in, kH, kW) kernel (zeros where unconnected)
    with a differentiable gather, then runs one ordinary conv2d.
    With the paper's table: 60 kernels of 5x5 + 16 biases = 1,516 parameters.
    """

    def __init__(self, in_channels, table, kernel_size=5):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        self.table = tuple(tuple(t) for t in table)
        n = sum(len(t) for t in self.table)
        bound = 1.0 / np.sqrt(max(len(t) for t in self.table) * kernel_size * kernel_size)
        self.weight = nn.Parameter((minigrad.rand(n, kernel_size, kernel_size) * 2 - 1) * bound)
        self.bias = nn.Parameter((minigrad.rand(len(self.table)) * 2 - 1) * bound)
        # index[o * in + i] = position of kernel (o, i) in ``weight``, or n (a zero row) when unconnected
        index = np.full(self.out_channels * in_channels, n, dtype=np.int64)
        k = 0
        for o, inputs in enumerate(self.table):
            for i in inputs:
                index[o * in_channels + i] = k
                k += 1
        self._index = index

    def dense_weight(self):
        K = self.kernel_size
        padded = minigrad.cat([self.weight, minigrad.zeros(1, K, K, dtype=self.weight.dtype,
                                                           device=self.weight.device)], 0)
        return padded[self._index].reshape(self.out_channels, self.in_channels, K, K)

    def forward(self, x):
        return F.conv2d(x, self.dense_weight(), self.bias)

    def macs(self, inputs, output):
        N, _, OH, OW = output.shape
        return N * OH * OW * self.weight.shape[0] * self.kernel_size ** 2

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"connections={self.weight.shape[0]}")


class RBF(nn.Module):
    """Euclidean radial basis function output units: y_i = sum_j (x_j - w_ij)^2 (LeNet-5's output layer).

    The centres ``weight`` (out_features, in_features) are fixed, not learned (the paper sets them by hand to
    +-1 codes drawn as 7x12 bitmaps of the characters): here +-1 codes drawn once from a fixed seed, held in a
    Parameter with requires_grad=False, so the summary lists them as non-trainable parameters.
    The module returns the penalties y (smaller is better).
    """

    def __init__(self, in_features=84, out_features=10, seed=0):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        codes = np.random.default_rng(seed).choice([-1.0, 1.0], size=(out_features, in_features))
        self.weight = nn.Parameter(minigrad.tensor(codes, dtype=minigrad.float32), requires_grad=False)

    def forward(self, x):
        # ||x - w||^2 = ||x||^2 - 2 x.w + ||w||^2, written so that it is one matmul
        x2 = (x * x).sum(1, keepdim=True)
        w2 = (self.weight * self.weight).sum(1).reshape(1, -1)
        return x2 - 2.0 * (x @ self.weight.T) + w2

    def macs(self, inputs, output):
        return output.numel() * self.in_features

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"


class LeNet5Classic(nn.Module):
    """LeNet-5 as LeCun et al. 1998 published it: 60,000 trainable parameters (plus 840 fixed RBF centres).

    C1 conv 6@5x5 (156) - S2 subsampling (12) - C3 partial conv 16@5x5 (1,516) - S4 subsampling (32) -
    C5 conv 120@5x5 (48,120) - F6 linear 84 (10,164) - RBF output (fixed). Every layer but the output is
    followed by the scaled tanh. ``forward`` returns ``-penalties`` so that, as with the other models, the
    largest output is the predicted class and ``cross_entropy`` can train it (the paper's own loss,
    mean y_correct + log(e^-j + sum_i e^-y_i), is this cross-entropy with one extra constant class).
    """

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.C1 = nn.Conv2d(in_channels, 6, 5)
        self.act1 = ScaledTanh()
        self.S2 = Subsampling(6)
        self.act2 = ScaledTanh()
        self.C3 = PartialConv2d(6, C3_TABLE, 5)
        self.act3 = ScaledTanh()
        self.S4 = Subsampling(16)
        self.act4 = ScaledTanh()
        self.C5 = nn.Conv2d(16, 120, 5)
        self.act5 = ScaledTanh()
        self.flatten = nn.Flatten()
        self.F6 = nn.Linear(120, 84)
        self.act6 = ScaledTanh()
        self.output = RBF(84, num_classes)

    def forward(self, x):
        x = self.act2(self.S2(self.act1(self.C1(x))))
        x = self.act4(self.S4(self.act3(self.C3(x))))
        x = self.act6(self.F6(self.flatten(self.act5(self.C5(x)))))
        return -self.output(x)


@accepts_weights
def lenet5(num_classes=10, classic=False, in_channels=1):
    """LeNet-5 for 1x32x32 input: modern (61,706 parameters) or ``classic=True`` (60,000 trainable)."""
    return (LeNet5Classic if classic else LeNet5)(num_classes=num_classes, in_channels=in_channels)
