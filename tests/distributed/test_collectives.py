"""minigrad.distributed's collectives on 2 ranks against NumPy references, and the group of one."""
import numpy as np
import pytest

import minigrad
import minigrad.distributed as dist

from .mpi_helpers import run_mpi

CODE = r"""
import numpy as np
import minigrad
import minigrad.distributed as dist

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
assert size == 2, size

def data(r, shape=(3, 4), dtype=np.float32):
    return np.random.default_rng(100 + r).standard_normal(shape).astype(dtype)

every = [data(r) for r in range(size)]
for op, ref in [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min),
                (dist.ReduceOp.SUM, np.sum), (dist.ReduceOp.AVG, np.mean), (dist.ReduceOp.MAX, np.max)]:
    t = minigrad.tensor(data(rank))
    dist.all_reduce(t, op=op)
    np.testing.assert_allclose(t.numpy(), ref(np.stack(every), axis=0), rtol=1e-6, err_msg=str(op))

# float64 and int64, and a non-contiguous tensor (a transpose)
t = minigrad.tensor(data(rank, dtype=np.float64))
dist.all_reduce(t)
np.testing.assert_allclose(t.numpy(), sum(data(r, dtype=np.float64) for r in range(size)), rtol=1e-12)
t = minigrad.tensor(np.arange(6, dtype=np.int64) * (rank + 1))
dist.all_reduce(t, op="max")
np.testing.assert_array_equal(t.numpy(), np.arange(6) * size)
base = minigrad.tensor(data(rank, (4, 5)))
t = base.T
dist.all_reduce(t)
np.testing.assert_allclose(t.numpy(), sum(data(r, (4, 5)) for r in range(size)).T, rtol=1e-6)

for src in range(size):
    t = minigrad.tensor(data(rank))
    dist.broadcast(t, src=src)
    np.testing.assert_array_equal(t.numpy(), data(src))

out = [minigrad.zeros(3, 4) for _ in range(size)]
dist.all_gather(out, minigrad.tensor(data(rank)))
for r in range(size):
    np.testing.assert_array_equal(out[r].numpy(), data(r))

# the ranks disagree on the shape: every rank gets the same clear error, nobody hangs
try:
    dist.all_reduce(minigrad.zeros(3 + rank))
except dist.DistributedError as e:
    assert "rank 0: (3,)" in str(e) and "rank 1: (4,)" in str(e), e
else:
    raise AssertionError("no error for mismatched shapes")

dist.barrier()
print(f"rank {rank} ok")
"""


def test_collectives_on_two_ranks_match_numpy(tmp_path):
    proc = run_mpi(CODE, tmp_path)
    assert "rank 0 ok" in proc.stdout and "rank 1 ok" in proc.stdout


def test_a_group_of_one_without_a_launcher(monkeypatch):
    from minigrad.distributed import group as g
    for var in g._LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(g, "_group", None)
    dist.init_process_group()
    assert (dist.get_rank(), dist.get_world_size(), dist.is_initialized()) == (0, 1, True)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    t = minigrad.tensor(x)
    dist.all_reduce(t, op="mean")
    dist.broadcast(t, src=0)
    out = [minigrad.zeros(2, 3)]
    dist.all_gather(out, t)
    dist.barrier()
    np.testing.assert_array_equal(t.numpy(), x)
    np.testing.assert_array_equal(out[0].numpy(), x)
    with pytest.raises(ValueError, match="src must be a rank in 0..0"):
        dist.broadcast(t, src=1)
    with pytest.raises(ValueError, match="unknown op"):
        dist.all_reduce(t, op="prod")
    with pytest.raises(ValueError, match="world_size=1 tensors, got 2"):
        dist.all_gather([minigrad.zeros(2, 3), minigrad.zeros(2, 3)], t)
    dist.destroy_process_group()
    assert not dist.is_initialized()
