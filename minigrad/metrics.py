"""Metrics that do not need gradients."""
from __future__ import annotations

from .tensor import Tensor


def accuracy(output, target, topk=(1,)):
    """Top-k accuracies in percent for scores ``output`` (N, C) and class indices ``target`` (N,), as in
    PyTorch's ImageNet example: ``acc1, acc5 = accuracy(output, target, topk=(1, 5))``, each a float32
    tensor of shape (1,) (``acc1.item()``, ``acc1[0]``). A sample counts as right for k when its class is
    among its k highest scores (ties broken by the lower class index)."""
    if output.ndim != 2 or target.shape != output.shape[:1]:
        raise ValueError(f"accuracy: expected output (N, C) and target (N,), got {tuple(output.shape)} and "
                         f"{tuple(target.shape)}")
    N, C = output.shape
    maxk = max(topk)
    if maxk > C:
        raise ValueError(f"accuracy: top-{maxk} asked for, but the output has only {C} classes")
    xp = output._xp
    scores = output.array
    pred = xp.argsort(-scores, axis=1, kind="stable")[:, :maxk]           # (N, maxk)
    correct = pred == target.array.reshape(-1, 1)
    res = []
    for k in topk:
        hits = int(correct[:, :k].sum())
        res.append(Tensor._wrap(xp.asarray([hits * 100.0 / max(N, 1)], dtype="float32")))
    return res


def confusion_matrix(output, target, num_classes=None):
    """Counts (C, C) int64: row = true class, column = predicted class (scikit-learn's layout).

    ``output`` is scores (N, C) (the prediction is their argmax) or predicted class indices (N,);
    ``target`` holds class indices (N,). ``num_classes`` defaults to C of the scores, or to the largest
    index seen + 1. minigrad-specific (torchmetrics has the same layout)."""
    if output.ndim not in (1, 2) or target.ndim != 1 or output.shape[0] != target.shape[0]:
        raise ValueError(f"confusion_matrix: expected output (N, C) or (N,) and target (N,), got "
                         f"{tuple(output.shape)} and {tuple(target.shape)}")
    xp = output._xp
    pred = output.array.argmax(axis=1) if output.ndim == 2 else output.array
    if pred.dtype.kind not in "iu" or target.dtype.kind not in "iu":
        raise TypeError(f"confusion_matrix: class indices must be integers, got {pred.dtype} and {target.dtype}")
    true = target.array
    if num_classes is None:
        num_classes = output.shape[1] if output.ndim == 2 else int(max(pred.max(), true.max(), -1)) + 1
    for name, v in (("prediction", pred), ("target", true)):
        if v.size and (int(v.min()) < 0 or int(v.max()) >= num_classes):
            raise ValueError(f"confusion_matrix: a {name} lies outside [0, {num_classes}): "
                             f"range {int(v.min())}..{int(v.max())}")
    counts = xp.bincount(true.astype("int64") * num_classes + pred, minlength=num_classes * num_classes)
    return Tensor._wrap(counts.reshape(num_classes, num_classes).astype("int64"))
