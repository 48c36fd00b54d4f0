"""minigrad/tensor.py and creation.py: construction, dtypes, devices, conversions, repr."""
import re
import numpy as np
import pytest

import minigrad
from helpers import requires_torch, torch


def test_dtype_rules_match_torch_tensor():
    assert minigrad.tensor([1.0, 2.0]).dtype == minigrad.float32
    assert minigrad.tensor([1, 2]).dtype == minigrad.int64
    assert minigrad.tensor([True]).dtype == minigrad.bool
    assert minigrad.tensor(np.zeros(2, np.float64)).dtype == minigrad.float64   # arrays keep their dtype
    assert minigrad.tensor(np.zeros(2, np.uint8)).dtype == minigrad.uint8
    assert minigrad.tensor([1, 2], dtype=minigrad.float64).dtype == minigrad.float64


@requires_torch
@pytest.mark.parametrize("value", [np.float64(1.5), np.float32(1.5), np.int32(3), np.bool_(True)])
def test_numpy_scalar_keeps_its_dtype_like_torch(value):
    # e.g. minigrad.tensor(array.mean()): a NumPy float64 scalar stays float64, as in torch.tensor
    t = minigrad.tensor(value)
    assert t.shape == () and t.dtype == np.dtype(str(torch.tensor(value).dtype).split(".")[1])
    assert t.item() == value.item()
    assert minigrad.tensor(value, dtype=minigrad.float32).dtype == minigrad.float32


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t, f = minigrad.tensor(a), minigrad.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 0 and f[0].item() == 5


@pytest.mark.parametrize("make,shape,dtype", [
    (lambda: minigrad.zeros(2, 3), (2, 3), "float32"),
    (lambda: minigrad.ones((2, 3), dtype=minigrad.float64), (2, 3), "float64"),
    (lambda: minigrad.full((2,), 7), (2,), "int64"),
    (lambda: minigrad.full((2,), 7.0), (2,), "float32"),
    (lambda: minigrad.empty(4), (4,), "float32"),
    (lambda: minigrad.arange(5), (5,), "int64"),
    (lambda: minigrad.arange(0, 1, 0.25), (4,), "float32"),
    (lambda: minigrad.linspace(0, 1, 5), (5,), "float32"),
    (lambda: minigrad.eye(3), (3, 3), "float32"),
    (lambda: minigrad.rand(2, 2), (2, 2), "float32"),
    (lambda: minigrad.randn(3, dtype=minigrad.float64), (3,), "float64"),
    (lambda: minigrad.randint(0, 10, (4,)), (4,), "int64"),
    (lambda: minigrad.zeros_like(minigrad.ones(2, dtype=minigrad.float64)), (2,), "float64"),
    (lambda: minigrad.ones_like(minigrad.ones(2)), (2,), "float32"),
    (lambda: minigrad.full_like(minigrad.ones(2), 3), (2,), "float32"),
    (lambda: minigrad.randn_like(minigrad.ones(2, 2)), (2, 2), "float32"),
    (lambda: minigrad.rand_like(minigrad.ones(2)), (2,), "float32"),
    (lambda: minigrad.empty_like(minigrad.ones(2)), (2,), "float32"),
    (lambda: minigrad.randint_like(minigrad.ones(2), 5), (2,), "float32"),
])
def test_factories(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype.name == dtype and t.device == "cpu"


@requires_torch
def test_factory_values_match_torch():
    assert np.array_equal(minigrad.arange(1, 10, 3).numpy(), torch.arange(1, 10, 3).numpy())
    assert np.allclose(minigrad.linspace(-1, 1, 7).numpy(), torch.linspace(-1, 1, 7).numpy(), atol=1e-6)
    assert np.array_equal(minigrad.eye(2, 3).numpy(), torch.eye(2, 3).numpy())


def test_manual_seed_makes_random_tensors_reproducible():
    minigrad.manual_seed(123)
    a = minigrad.randn(5)
    minigrad.manual_seed(123)
    assert np.array_equal(a.numpy(), minigrad.randn(5).numpy())
    g = minigrad.Generator().manual_seed(7)
    b = minigrad.rand(3, generator=g)
    g.manual_seed(7)
    assert np.array_equal(b.numpy(), minigrad.rand(3, generator=g).numpy())


def test_attributes():
    t = minigrad.ones(2, 3, requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and t.size(1) == 3 and t.dim() == 2
    assert t.is_leaf and t.grad is None and t.grad_fn is None
    y = t * 2
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert minigrad.tensor(3.5).item() == 3.5
    assert minigrad.tensor([[1, 2]]).tolist() == [[1, 2]]


def test_numpy_of_a_tensor_that_requires_grad_needs_detach():
    t = minigrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0, 1.0]


def test_to_dtype_and_conversions():
    t = minigrad.tensor([1.5, -2.5], requires_grad=True)
    d = t.double()
    assert d.dtype == minigrad.float64 and d.requires_grad
    d.sum().backward()
    assert t.grad.dtype == minigrad.float32
    assert t.detach().long().tolist() == [1, -2]
    assert t.to(minigrad.float16).dtype == minigrad.float16
    assert t.to("cpu") is t


def test_cuda_without_a_gpu_raises_a_clear_error():
    if minigrad.is_cuda_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CuPy|GPU"):
        minigrad.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="CuPy|GPU"):
        minigrad.zeros(2, device="cuda:0")
    assert not minigrad.cuda.is_available()


def test_device_parsing():
    assert minigrad.Device("cuda") == "cuda:0" and minigrad.Device("cpu") == "cpu"
    assert str(minigrad.Device("cuda:1")) == "cuda:1"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        minigrad.Device("tpu")


def test_repr_mentions_grad_state():
    assert repr(minigrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(minigrad.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(minigrad.ones(1, requires_grad=True) * 2)
    assert "dtype=minigrad.float64" in repr(minigrad.ones(1, dtype=minigrad.float64))


def test_numpy_interop():
    t = minigrad.tensor([1.0, 2.0])
    r = np.array([2.0, 2.0], np.float32) * t        # NumPy defers to the Tensor
    assert isinstance(r, minigrad.Tensor) and r.tolist() == [2.0, 4.0]
    assert np.asarray(t).tolist() == [1.0, 2.0]


def test_scalar_conversions_and_bool():
    assert float(minigrad.tensor(2.5)) == 2.5 and int(minigrad.tensor(3)) == 3
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(minigrad.ones(2))
    with pytest.raises(RuntimeError, match="2 elements"):
        minigrad.ones(2).item()


def test_tensors_are_hashable_despite_elementwise_eq():
    a, b = minigrad.ones(1), minigrad.ones(1)
    assert len({a: 1, b: 2}) == 2


def test_len_iter():
    t = minigrad.arange(6).reshape(3, 2)
    assert len(t) == 3 and [r.tolist() for r in t] == [[0, 1], [2, 3], [4, 5]]


def test_requires_grad_setter_refuses_integer_tensors_like_requires_grad_():
    t = minigrad.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require gradients, got "
                                           "minigrad.int64"):
        t.requires_grad = True
    assert t.requires_grad is False
    y = minigrad.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf tensors"):
        y.requires_grad = False
    f = minigrad.tensor([1.0])
    f.requires_grad = True
    assert f.requires_grad is True


@pytest.mark.parametrize("array", [np.array([object()]), np.array(["ab"]), np.array([b"ab"]),
                                   np.array(["2020-01-01"], dtype="datetime64[D]"), np.zeros(2, dtype="V4")])
@pytest.mark.parametrize("make", [minigrad.tensor, minigrad.as_tensor, minigrad.from_numpy, minigrad.Tensor])
def test_unsupported_numpy_dtypes_are_refused_at_creation(array, make):
    with pytest.raises(TypeError, match=re.escape(f"dtype {array.dtype}: the supported dtypes are bool, uint8, int8")):
        make(array)


@pytest.mark.parametrize("make", [minigrad.tensor, minigrad.as_tensor, minigrad.from_numpy, minigrad.Tensor])
def test_big_endian_arrays_become_native(make):
    a = np.arange(2 * 3 * 6 * 6, dtype=">f4").reshape(2, 3, 6, 6)
    t = make(a)
    assert t.dtype == minigrad.float32 and t.dtype.isnative
    np.testing.assert_array_equal(t.numpy(), a.astype("<f4"))
    w = minigrad.from_numpy(np.ones((4, 3, 3, 3), dtype=">f4"))
    y = minigrad.nn.functional.max_pool2d(minigrad.nn.functional.conv2d(t, w.float()), 2)
    assert y.shape == (2, 4, 2, 2) and y.dtype == minigrad.float32
