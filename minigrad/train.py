"""The training job: ``python -m minigrad train lenet5`` (also the ``minigrad`` console script).

The loop itself is small and readable, and callable from Python::

    from minigrad.train import fit
    history = fit(model, train_loader, test_loader, optimizer, epochs=5)

``run(config)`` builds everything from names (model, dataset, optimizer, scheduler, loss) and adds what a
real run needs: a progress bar, ``metrics.csv``, an atomic checkpoint after every epoch, ``curves.png``,
and ``--resume``. Every epoch reseeds from ``(seed, epoch)``, so a run interrupted and resumed from its
last checkpoint ends with exactly the weights of an uninterrupted one.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import inspect
import io
import math
import os
import sys
import time

import numpy as np

import minigrad
from minigrad import distributed as dist
from minigrad import nn
from minigrad.nn import functional as F

# ---------------------------------------------------------------------------------------------- the loop


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite: the step that would have spread it into the weights is not taken."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training, with where it came: ``epoch`` and ``batch`` (1-based; batch 0: before the
    epoch's first batch was drawn)."""

    def __init__(self, epoch, batch):
        super().__init__(f"at epoch {epoch}, batch {batch}" if epoch is not None else f"at batch {batch}")
        self.epoch, self.batch = epoch, batch


def train_one_epoch(model, loader, optimizer, loss_fn=F.cross_entropy, device="cpu", scheduler=None,
                    progress=None, epoch=None):
    """One pass over ``loader``: forward, loss, backward, step. Returns (mean loss, top-1 %, images/s).
    ``scheduler`` (if given) is stepped after every batch (OneCycleLR); epoch schedulers step in ``fit``."""
    model.train()
    total_loss, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    batch = 0
    try:
        for batch, (x, y) in enumerate(loader, 1):
            x, y = x.to(device), y.to(device)
            out = model(x)
            if isinstance(out, tuple):             # GoogLeNet in training mode: (main, aux1, aux2)
                loss = combined_loss(out, y, loss_fn)
                out = out[0]
            else:
                loss = loss_fn(out, y)
            value = loss.item()
            if not math.isfinite(value):
                where = f"epoch {epoch}, batch {batch}" if epoch is not None else f"batch {batch}"
                raise diverged(f"the loss is {value} at {where}", optimizer)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            n = y.shape[0]
            total_loss += value * n
            correct += int((out.detach().argmax(1) == y).sum().item())
            seen += n
            if progress is not None:
                rate = seen / max(time.perf_counter() - start, 1e-9)
                progress.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{100 * correct / seen:.2f}%",
                                     img_s=f"{rate:.0f}", refresh=False)
                progress.update(1)
    except KeyboardInterrupt:        # Ctrl-C: say where (the CLI turns it into one line)
        raise Interrupted(epoch, batch) from None
    elapsed = max(time.perf_counter() - start, 1e-9)
    total_loss, correct, seen = dist.sum_over_ranks(total_loss, correct, seen)   # alone: unchanged
    return total_loss / max(seen, 1), 100.0 * correct / max(seen, 1), seen / elapsed


def diverged(what, optimizer):
    """The error that stops a run whose loss became non-finite, naming ``what`` and the likely cause."""
    lr = optimizer.param_groups[0]["lr"]
    momentum = optimizer.param_groups[0].get("momentum")
    return TrainingDivergedError(
        f"{what}: training diverged; the usual cause is a learning rate (now {lr:g}) or momentum"
        f"{f' (now {momentum:g})' if momentum is not None else ''} too high for this model; the last good "
        f"checkpoint is kept")


def combined_loss(outputs, target, loss_fn=F.cross_entropy, aux_weight=0.3):
    """Main loss plus ``aux_weight`` times each auxiliary head's loss (GoogLeNet's training objective)."""
    main, *aux = outputs
    loss = loss_fn(main, target)
    for a in aux:
        loss = loss + aux_weight * loss_fn(a, target)
    return loss


def evaluate(model, loader, loss_fn=F.cross_entropy, device="cpu"):
    """Mean loss, top-1 % and top-5 % over ``loader``, in eval mode and without a graph. On several ranks
    each passes its share of the images and the sums are added over the ranks (every rank must call it)."""
    model.eval()
    total_loss, top1, top5, seen = 0.0, 0.0, 0.0, 0
    with minigrad.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            n = y.shape[0]
            total_loss += loss_fn(out, y).item() * n
            k = min(5, out.shape[1])
            a1, a5 = minigrad.metrics.accuracy(out, y, topk=(1, k))
            top1 += float(a1) * n
            top5 += float(a5) * n
            seen += n
    total_loss, top1, top5, seen = dist.sum_over_ranks(total_loss, top1, top5, seen)
    return total_loss / max(seen, 1), top1 / max(seen, 1), top5 / max(seen, 1)


def fit(model, train_loader, test_loader, optimizer, *, epochs, loss_fn=F.cross_entropy, scheduler=None,
        device="cpu", start_epoch=0, on_epoch_start=None, on_epoch_end=None, progress=False, log=print):
    """Train for ``epochs`` epochs and evaluate after each. Returns the list of per-epoch metric dicts.

    ``scheduler`` steps once per epoch, except OneCycleLR, which steps per batch. ``on_epoch_start(epoch)``
    and ``on_epoch_end(epoch, row)`` let ``run`` seed, checkpoint and plot without cluttering the loop.
    """
    per_batch = type(scheduler).__name__ == "OneCycleLR"
    history = []
    for epoch in range(start_epoch, epochs):
        if on_epoch_start is not None:
            on_epoch_start(epoch)
        bar = _progress_bar(len(train_loader), f"epoch {epoch + 1}/{epochs}") if progress else None
        try:
            train_loss, train_acc, rate = train_one_epoch(model, train_loader, optimizer, loss_fn, device,
                                                          scheduler if per_batch else None, bar, epoch + 1)
        finally:
            if bar is not None:
                bar.close()
        test_loss, top1, top5 = evaluate(model, test_loader, loss_fn, device)
        if not math.isfinite(test_loss):     # the last step's weights overflow: not a checkpoint to keep
            raise diverged(f"the test loss is {test_loss} after epoch {epoch + 1}", optimizer)
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None and not per_batch:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(test_loss)
            else:
                scheduler.step()
        row = dict(epoch=epoch + 1, train_loss=train_loss, train_acc=train_acc, test_loss=test_loss,
                   test_top1=top1, test_top5=top5, lr=lr, images_per_s=rate)
        row = {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in row.items()}  # no 90.80000018
        history.append(row)
        log(f"epoch {epoch + 1}/{epochs}  train loss {train_loss:.4f} acc {train_acc:.2f}%  "
            f"test loss {test_loss:.4f} top-1 {top1:.2f}% top-5 {top5:.2f}%  ({rate:.0f} img/s)")
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
    return history


def _progress_bar(total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True, file=sys.stderr)


# ---------------------------------------------------------------------------------------------- a whole run

@dataclasses.dataclass
class Config:
    """Everything ``run`` needs; the CLI flags have the same names."""
    model: str = "lenet5"
    dataset: str = "mnist5k"
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None         # None: the optimizer's default, DEFAULT_LR
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    scheduler: str = "cosine"
    loss: str = "ce"
    label_smoothing: float = 0.0
    augment: bool = False
    device: str = "cpu"
    seed: int = 0
    out: str | None = None          # None: runs/MODEL-DATASET
    resume: str | None = None
    limit: int | None = None        # a stratified sample of N training and N test images (smoke runs)
    progress: bool = True


# The learning rate each optimizer gets when --lr is not given (the values the PyTorch examples use; Adam's
# 1e-3 is its paper's default: SGD's 0.05 would make Adam diverge).
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}


def check_config(cfg):
    """Refuse settings that cannot train, before anything is loaded or written; fill in the default lr."""
    if cfg.optimizer.lower() not in DEFAULT_LR:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}: expected one of {sorted(DEFAULT_LR)}")
    if cfg.lr is None:
        cfg.lr = DEFAULT_LR[cfg.optimizer.lower()]
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ValueError(f"--lr must be a positive number, got {cfg.lr}")
    if not (0 <= cfg.momentum < 1):
        raise ValueError(f"--momentum must be in [0, 1), got {cfg.momentum} (momentum >= 1 makes SGD diverge)")
    if not (math.isfinite(cfg.weight_decay) and cfg.weight_decay >= 0):
        raise ValueError(f"--weight-decay must be >= 0, got {cfg.weight_decay}")
    if not (0 <= cfg.label_smoothing < 1):
        raise ValueError(f"--label-smoothing must be in [0, 1), got {cfg.label_smoothing}")
    if not (isinstance(cfg.seed, int) and cfg.seed >= 0):
        raise ValueError(f"--seed must be a whole number >= 0, got {cfg.seed}")
    return cfg


def build_model(name, num_classes, in_channels):
    """A zoo model by name for ``num_classes`` classes and ``in_channels``-channel images."""
    kwargs = {"num_classes": num_classes}
    builder = minigrad.models.MODELS.get(name.lower().replace("-", "_"))
    if builder is not None and "in_channels" in inspect.signature(builder).parameters:
        kwargs["in_channels"] = in_channels
    model = minigrad.models.get_model(name, **kwargs)
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is not None and first.in_channels != in_channels:
        raise ValueError(f"model {name!r} takes {first.in_channels}-channel images, but the dataset's have "
                         f"{in_channels}")
    return model


def build_optimizer(cfg, params):
    name = cfg.optimizer.lower()
    if name == "sgd":
        return minigrad.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                                  nesterov=cfg.momentum > 0)
    if name == "adam":
        return minigrad.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "adamw":
        return minigrad.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}: expected sgd, adam or adamw")


def build_scheduler(cfg, optimizer, steps_per_epoch):
    S = minigrad.optim.lr_scheduler
    name = (cfg.scheduler or "none").lower()
    if name == "none":
        return None
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if name == "step":
        return S.StepLR(optimizer, step_size=max(cfg.epochs // 3, 1), gamma=0.1)
    if name == "onecycle":
        return S.OneCycleLR(optimizer, max_lr=cfg.lr, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch)
    if name == "plateau":
        return S.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    raise ValueError(f"unknown scheduler {cfg.scheduler!r}: expected none, cosine, step, onecycle or plateau")


def kernels_are_compiled():
    """True when Numba has compiled minigrad's CPU kernels on this machine before (their cache index files
    are on disk), so a run starts at once; False on a cold cache, when the first batch waits for the
    compiler. Reads Numba's cache bookkeeping; anything unexpected there counts as compiled."""
    try:
        from minigrad.kernels import cpu
        files = [obj._cache._cache_file for obj in vars(cpu).values()
                 if getattr(getattr(obj, "_cache", None), "_cache_file", None) is not None]
        return not files or any(os.path.exists(f._index_path) for f in files)
    except Exception:
        return True


class _FirstBatchTimer:
    """Wraps the training loader of a cold run: after the first batch, says how long it took (the kernels
    compile during it). Only ``len()`` and iteration are used by ``fit``."""

    def __init__(self, loader, log):
        self.loader, self.log, self.pending = loader, log, True

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        start, batches = time.perf_counter(), iter(self.loader)
        for i, batch in enumerate(batches):
            yield batch
            if i == 0 and self.pending:
                self.pending = False
                self.log(f"kernels compiled: the first batch took {time.perf_counter() - start:.1f} s")


def extend_schedule(cfg, scheduler):
    """A resumed run whose ``--epochs`` changed: a cosine or step schedule is rebuilt over the new total and
    continued from the current epoch (the learning rate is what the new schedule has there), never a silent
    warm restart of the old one; one-cycle, whose shape is fixed by its total, cannot be stretched."""
    S = minigrad.optim.lr_scheduler
    if isinstance(scheduler, S.CosineAnnealingLR):
        scheduler.T_max = cfg.epochs
    elif isinstance(scheduler, S.StepLR):
        scheduler.step_size = max(cfg.epochs // 3, 1)
    elif isinstance(scheduler, S.OneCycleLR):
        raise ValueError(f"a one-cycle run cannot be extended to {cfg.epochs} epochs (its schedule is fixed by "
                         f"its total length); start a new run, or resume with the same --epochs")
    else:
        return
    scheduler._update_lr(epoch=scheduler.last_epoch)


def build_loss(cfg):
    if cfg.loss == "ce":
        return lambda out, y: F.cross_entropy(out, y, label_smoothing=cfg.label_smoothing)
    if cfg.loss == "svm":
        return F.multi_margin_loss
    raise ValueError(f"unknown loss {cfg.loss!r}: expected ce or svm")


def build_datasets(cfg):
    """(dataset class, train set, test set) for ``cfg``: the dataset's usual transforms, and with
    ``cfg.limit`` a stratified, seeded sample of that many images of each split (every class is in it,
    whatever the order of the files)."""
    from minigrad.utils.data import Subset
    ds_cls = minigrad.datasets.DATASETS.get(cfg.dataset.lower())
    if ds_cls is None:
        raise ValueError(f"unknown dataset {cfg.dataset!r}; expected one of {sorted(minigrad.datasets.DATASETS)}")
    size = 32 if cfg.model.startswith("lenet") else None     # LeNet-5 reads 32x32 (digits padded, as in the paper)
    train_tf = minigrad.datasets.default_transform(cfg.dataset, train=True, augment=cfg.augment, size=size)
    test_tf = minigrad.datasets.default_transform(cfg.dataset, train=False, size=size)
    download = cfg.dataset.lower() != "mnist5k"
    train_set = ds_cls(root=cfg.data_dir, train=True, transform=train_tf, download=download)
    test_set = ds_cls(root=cfg.data_dir, train=False, transform=test_tf, download=download)
    if cfg.limit:
        def sample(ds):
            return Subset(ds, minigrad.datasets.stratified_sample(ds.targets, cfg.limit, cfg.seed).tolist())
        train_set, test_set = sample(train_set), sample(test_set)
    return ds_cls, train_set, test_set


def load_job_checkpoint(path, map_location=None):
    """The checkpoint a run writes (a dict with the model, optimizer, epoch and history, and its config);
    another minigrad file given to ``--resume`` (a bare state dict, a tensor) is refused naming what it holds."""
    ckpt = minigrad.load(path, map_location=map_location)
    keys = ("model", "optimizer", "epoch", "history")
    if not (isinstance(ckpt, dict) and all(k in ckpt for k in keys)):
        got = f"a dict with keys {sorted(map(str, ckpt))}" if isinstance(ckpt, dict) else f"a {type(ckpt).__name__}"
        raise ValueError(f"--resume {path}: expected the checkpoint of a training run (a dict with "
                         f"{', '.join(keys)}), got {got}")
    return ckpt


def run(cfg: Config, log=print):
    """Train ``cfg.model`` on ``cfg.dataset`` and write metrics.csv, checkpoint.mg and curves.png to
    ``cfg.out``. Returns the history (one dict per epoch). Under ``mpiexec -n N`` each rank trains on its
    share of every global batch (``minigrad.distributed``) and only rank 0 writes and reports."""
    from minigrad.distributed import job
    from minigrad.utils.data import DataLoader
    check_config(cfg)
    dist.init_process_group()
    rank0 = dist.get_rank() == 0
    if cfg.out is None:
        cfg.out = os.path.join("runs", f"{cfg.model}-{cfg.dataset}")
    minigrad.manual_seed(cfg.seed)
    # What can be checked without the data is checked first (model name, device, checkpoint), and
    # nothing is written to disk until the data is loaded and the run really starts.
    ds_cls = minigrad.datasets.DATASETS.get(cfg.dataset.lower())
    if ds_cls is None:
        raise ValueError(f"unknown dataset {cfg.dataset!r}; expected one of {sorted(minigrad.datasets.DATASETS)}")
    minigrad.device(cfg.device)
    num_classes = len(ds_cls.classes) if ds_cls.classes else 10
    model = build_model(cfg.model, num_classes, len(ds_cls.mean)).to(cfg.device)
    optimizer = build_optimizer(cfg, model.parameters())
    ckpt = load_job_checkpoint(cfg.resume, map_location=cfg.device) if cfg.resume else None

    _, train_set, test_set = build_datasets(cfg)
    shuffle_gen = minigrad.Generator()
    sampler = None
    if dist.get_world_size() == 1:
        train_loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, generator=shuffle_gen)
        test_loader = DataLoader(test_set, batch_size=max(cfg.batch_size, 256))
    else:
        train_loader, test_loader, sampler = job.shard_loaders(train_set, test_set, cfg.batch_size,
                                                           max(cfg.batch_size, 256), cfg.seed * 100_003,
                                                           shuffle_gen)
    scheduler = build_scheduler(cfg, optimizer, len(train_loader))
    loss_fn = build_loss(cfg)

    history, start = [], 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
            saved_epochs = (ckpt.get("config") or {}).get("epochs", cfg.epochs)
            if saved_epochs != cfg.epochs:
                extend_schedule(cfg, scheduler)
        history, start = list(ckpt["history"]), int(ckpt["epoch"])
        log(f"resumed from {cfg.resume} at epoch {start}")
    net = dist.DistributedDataParallel(model) if dist.get_world_size() > 1 else model
    if rank0:
        os.makedirs(cfg.out, exist_ok=True)
    ckpt_path = os.path.join(cfg.out, "checkpoint.mg")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{cfg.model}: {n_params:,} parameters; {cfg.dataset}: {len(train_set)} train / {len(test_set)} test "
        f"images; {cfg.epochs} epochs on {cfg.device}{job.describe(cfg.batch_size)}; {cfg.optimizer} lr {cfg.lr:g}")

    def on_epoch_start(epoch):
        # Each epoch's randomness (shuffling, augmentation, dropout) depends on (seed, epoch) only (and the
        # rank, for dropout; the sampler's permutation is the one shuffle_gen draws alone).
        minigrad.manual_seed(cfg.seed * 100_003 + epoch + 7_919 * dist.get_rank())   # dropout: per rank
        shuffle_gen.manual_seed(cfg.seed * 100_003 + epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)

    def on_epoch_end(epoch, row):
        history.append(row)
        if not rank0:
            return
        minigrad.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                       "scheduler": scheduler.state_dict() if scheduler is not None else None,
                       "epoch": epoch + 1, "history": history, "config": dataclasses.asdict(cfg)}, ckpt_path)
        write_metrics(history, os.path.join(cfg.out, "metrics.csv"))
        plot_curves(history, os.path.join(cfg.out, "curves.png"),
                    title=f"{cfg.model} on {cfg.dataset}  ({cfg.out})")

    if minigrad.device(cfg.device).type == "cpu" and not kernels_are_compiled():
        log("compiling minigrad's Numba kernels for this machine (once: later runs start at once) ...")
        train_loader = _FirstBatchTimer(train_loader, log)
    start_time = time.perf_counter()
    fit(net, train_loader, test_loader, optimizer, epochs=cfg.epochs, loss_fn=loss_fn, scheduler=scheduler,
        device=cfg.device, start_epoch=start, on_epoch_start=on_epoch_start, on_epoch_end=on_epoch_end,
        progress=cfg.progress and rank0, log=log)
    if history:
        last = history[-1]
        log(f"done in {time.perf_counter() - start_time:.1f} s: test top-1 {last['test_top1']:.2f}%, "
            f"top-5 {last['test_top5']:.2f}%  (outputs in {cfg.out})")
    return history


def _atomic_write(path, data: bytes):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_metrics(history, path):
    """Write the per-epoch rows to a CSV file (atomically)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    _atomic_write(path, buf.getvalue().encode())


def plot_curves(history, path, title=None):
    """Loss, accuracy and learning rate per epoch as a PNG titled ``title`` (skipped without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    epochs = [r["epoch"] for r in history]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4))
    from matplotlib.ticker import MaxNLocator
    ax1.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    ax1.plot(epochs, [r["test_loss"] for r in history], "s-", label="test")
    ax1.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax2.plot(epochs, [r["train_acc"] for r in history], "o-", label="train top-1")
    ax2.plot(epochs, [r["test_top1"] for r in history], "s-", label="test top-1")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    ax3.plot(epochs, [r.get("lr", float("nan")) for r in history], "o-", color="tab:green", label="lr")
    ax3.set(xlabel="epoch", ylabel="learning rate", title="Learning rate (during the epoch)")
    for ax in (ax1, ax2, ax3):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    _atomic_write(path, buf.getvalue())


# ---------------------------------------------------------------------------------------------- CLI

def add_train_parser(subparsers):
    """The ``train`` subcommand of ``python -m minigrad``."""
    d = Config()
    p = subparsers.add_parser("train", help="train a zoo model on a dataset",
                              description="Train a model from minigrad.models; writes metrics.csv, "
                                          "checkpoint.mg and curves.png to --out.")
    p.add_argument("model", nargs="?", default=d.model,
                   help="model name: " + ", ".join(minigrad.models.list_models()))
    p.add_argument("--dataset", default=d.dataset, choices=["mnist5k", "mnist", "fashion-mnist", "cifar10",
                                                             "cifar100"])
    p.add_argument("--data-dir", default=d.data_dir, help="dataset folder (default: $MINIGRAD_DATA or "
                                                          "~/.cache/minigrad)")
    p.add_argument("--epochs", type=_positive_int, default=d.epochs)
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr,
                   help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    p.add_argument("--optimizer", default=d.optimizer, choices=["sgd", "adam", "adamw"])
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--scheduler", default=d.scheduler, choices=["none", "cosine", "step", "onecycle", "plateau"])
    p.add_argument("--loss", default=d.loss, choices=["ce", "svm"])
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--augment", action="store_true", help="random crops of the training images, and "
                                                          "flips except for digits (default: off)")
    p.add_argument("--device", default=d.device, help="cpu or cuda")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", default=None, help="output folder (default: runs/MODEL-DATASET)")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue the run saved in CHECKPOINT, with its saved settings; flags given override "
                        "them (default: a new run)")
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="train and test on a stratified, seeded sample of N images each, for smoke runs "
                        "(default: all images)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar (default: a bar with the running loss, accuracy and images/s)")
    p.add_argument("--overwrite", action="store_true", help="let --out replace a run already there")
    for action in p._actions:
        if action.dest == "help":
            continue
        if "default:" not in (action.help or ""):     # --help shows every default
            action.help = ((action.help + " ") if action.help else "") + f"(default: {action.default})"
        # unset flags stay unset, so that --resume can tell the checkpoint's settings from those given
        action.default = argparse.SUPPRESS
    p.set_defaults(func=_train_command)
    return p


def _positive_int(text):
    """argparse type: a whole number >= 1 (``--epochs 0`` or ``--limit 0`` is refused, not a silent no-op)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def config_from_args(args, log=print):
    """The run's Config: flags given on the command line over, with ``--resume``, the configuration saved in
    the checkpoint (model, dataset, loss, optimizer, schedule, seed, out folder, ...), over the defaults. A
    new run never writes into an existing run's folder: the default ``runs/MODEL-DATASET`` becomes
    ``...-2``, ``-3``, and an explicit ``--out`` that holds a run needs ``--overwrite``."""
    fields = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in vars(args).items() if k in fields}
    overwrite = getattr(args, "overwrite", False)
    if given.get("resume"):
        saved = load_job_checkpoint(given["resume"]).get("config") or {}
        base = {k: v for k, v in saved.items() if k in fields and k not in ("resume", "progress")}
        changed = {k: v for k, v in given.items() if k in base and base[k] != v}
        cfg = Config(**{**base, **given})
        log(f"resuming {given['resume']} with its saved configuration"
            + ("; overridden: " + ", ".join(f"{k}={v}" for k, v in changed.items()) if changed else ""))
        return cfg
    cfg = Config(**given)
    if cfg.out is None:
        cfg.out = base = os.path.join("runs", f"{cfg.model}-{cfg.dataset}")
        n = 2
        while os.path.exists(cfg.out):
            cfg.out, n = f"{base}-{n}", n + 1
        if cfg.out != base:
            log(f"{base} holds an earlier run: writing to {cfg.out}")
    elif os.path.isdir(cfg.out) and os.listdir(cfg.out) and not overwrite:
        raise ValueError(f"--out {cfg.out} already holds a run; pass --overwrite to replace it, or choose "
                         f"another folder")
    return cfg


def _train_command(args):
    dist.init_process_group()
    if dist.get_world_size() > 1:                   # rank 0 decides the configuration and reports
        with dist.abort_on_error(debug=getattr(args, "debug", False)):
            cfg = dist.broadcast_object(config_from_args(args) if dist.get_rank() == 0 else None)
            run(cfg, log=print if dist.get_rank() == 0 else (lambda *a, **k: None))
        return 0
    cfg = config_from_args(args)
    try:
        run(cfg)
    except KeyboardInterrupt as e:      # one line (printed by __main__): where, what is kept, how to go on
        ckpt = os.path.join(cfg.out, "checkpoint.mg")
        if not os.path.exists(ckpt):
            where = f"{e}: " if isinstance(e, Interrupted) else ""
            raise KeyboardInterrupt(f"{where}no epoch had finished, so there is no checkpoint") from None
        epoch = minigrad.load(ckpt).get("epoch", 0)
        kept = f"{e}; the checkpoint of epoch {epoch} is kept" if isinstance(e, Interrupted) else \
            f"after epoch {epoch}, whose checkpoint is kept"
        raise KeyboardInterrupt(f"{kept}; resume with: python -m minigrad train --resume {ckpt}") from None
    return 0

