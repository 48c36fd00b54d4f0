"""minigrad/metrics.py: top-k accuracy like PyTorch's ImageNet example."""
import numpy as np
import pytest

import minigrad
from minigrad.metrics import accuracy


def _reference(output, target, topk):
    """The ImageNet example's function, written with NumPy."""
    pred = np.argsort(-output, axis=1, kind="stable")[:, :max(topk)].T
    correct = pred == target[None]
    return [correct[:k].reshape(-1).sum() * 100.0 / len(target) for k in topk]


def test_accuracy_top1_top5():
    output = minigrad.tensor([[0.1, 0.9, 0.0, 0.2, 0.3, 0.4, 0.5],
                              [0.8, 0.1, 0.05, 0.02, 0.01, 0.0, 0.3],
                              [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
                              [0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]])
    target = minigrad.tensor([1, 2, 0, 6])
    acc1, acc5 = accuracy(output, target, topk=(1, 5))
    assert acc1.shape == (1,) and acc1.dtype == minigrad.float32
    assert acc1.item() == pytest.approx(25.0) and acc5[0].item() == pytest.approx(50.0)


def test_accuracy_matches_reference():
    rng = np.random.default_rng(0)
    out = rng.standard_normal((64, 10))
    t = rng.integers(0, 10, 64)
    got = [a.item() for a in accuracy(minigrad.tensor(out), minigrad.tensor(t), topk=(1, 3, 5, 10))]
    np.testing.assert_allclose(got, _reference(out, t, (1, 3, 5, 10)), rtol=1e-6)
    assert got[-1] == pytest.approx(100.0)


def test_accuracy_errors():
    with pytest.raises(ValueError, match="only 3 classes"):
        accuracy(minigrad.randn(4, 3), minigrad.tensor([0, 1, 2, 0]), topk=(1, 5))
    with pytest.raises(ValueError, match="expected output"):
        accuracy(minigrad.randn(4, 3), minigrad.tensor([0, 1]))


def test_confusion_matrix_known_example():
    from minigrad.metrics import confusion_matrix
    target = minigrad.tensor([0, 0, 1, 2, 2, 2])
    pred = minigrad.tensor([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(pred, target).numpy()
    assert m.dtype == np.int64
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]      # row = true, column = predicted


def test_confusion_matrix_from_scores_matches_counting():
    from minigrad.metrics import confusion_matrix
    rng = np.random.default_rng(1)
    scores, target = rng.standard_normal((200, 7)), rng.integers(0, 7, 200)
    m = confusion_matrix(minigrad.tensor(scores), minigrad.tensor(target)).numpy()
    expected = np.zeros((7, 7), np.int64)
    for t, p in zip(target, scores.argmax(1)):
        expected[t, p] += 1
    assert np.array_equal(m, expected)
    acc1, = accuracy(minigrad.tensor(scores), minigrad.tensor(target))
    assert np.trace(m) * 100.0 / 200 == pytest.approx(acc1.item())
    assert confusion_matrix(minigrad.tensor([1]), minigrad.tensor([1]), num_classes=4).shape == (4, 4)


def test_confusion_matrix_bad_input():
    from minigrad.metrics import confusion_matrix
    with pytest.raises(ValueError, match="expected output"):
        confusion_matrix(minigrad.zeros(3, 2), minigrad.tensor([0, 1]))
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(minigrad.tensor([0, 3]), minigrad.tensor([0, 1]), num_classes=3)
    with pytest.raises(TypeError, match="integers"):
        confusion_matrix(minigrad.tensor([0.0, 1.0]), minigrad.tensor([0, 1]))
