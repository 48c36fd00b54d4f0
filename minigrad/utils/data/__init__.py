"""Data loading: datasets, batching, shuffling, prefetching (``minigrad.utils.data``).

Transforms live in ``minigrad.transforms``; MNIST, CIFAR and the others in ``minigrad.datasets``.
"""
from ._random import numpy_rng
from .dataloader import DataLoader, default_collate, default_convert
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)
from .dataset import (ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset, apply_batch,
                      random_split)
from .distributed import DistributedSampler
from .worker import WorkerInfo, get_worker_info

__all__ = ["Dataset", "ArrayDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "DataLoader", "default_collate", "default_convert", "apply_batch", "numpy_rng",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler", "get_worker_info", "WorkerInfo"]
