"""DDP, SyncBatchNorm and the collectives on 2 ranks with 'cuda' the simulated device (MINIGRAD_SIMULATE_CUDA=1,
CuPy's API on the CPU): the gradients take the host-MPI fallback (the simulated device has no NCCL) and the
weights end equal to one CPU process on the whole batch."""
from .mpi_helpers import run_mpi

CODE = r"""
import numpy as np
import minigrad
from minigrad import nn, optim
import minigrad.distributed as dist
from minigrad.distributed import DistributedDataParallel as DDP
from minigrad.distributed import nccl
dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
B = 8
def make():
    minigrad.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 5))
def batch(step):
    rng = np.random.default_rng(step)
    return rng.standard_normal((B, 1, 8, 8)).astype(np.float32), rng.integers(0, 5, B)
def train(model, device, share):
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):
        x, y = batch(step)
        x, y = minigrad.tensor(x[share]).to(device), minigrad.tensor(y[share]).to(device)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return {k: v.cpu().numpy() for k, v in getattr(model, "module", model).state_dict().items()}
got = train(DDP(make().to("cuda"), sync_batchnorm=True), "cuda", slice(rank * B // size, (rank + 1) * B // size))
want = train(make(), "cpu", slice(None))
for k in want:
    np.testing.assert_allclose(got[k], want[k], rtol=2e-5, atol=2e-6, err_msg=k)
t = minigrad.tensor(np.arange(3.0, dtype=np.float32) * (rank + 1)).to("cuda")
dist.all_reduce(t, op="mean")
np.testing.assert_allclose(t.cpu().numpy(), np.arange(3.0) * 1.5)
assert nccl.status().startswith("host MPI"), nccl.status()
print(f"rank {rank} ok {nccl.status()}", flush=True)  # one write: two ranks share the pipe
"""


def test_ddp_on_the_simulated_cuda_device_goes_through_host_mpi(tmp_path):
    proc = run_mpi(CODE, tmp_path, env={"MINIGRAD_SIMULATE_CUDA": "1"})
    assert "rank 0 ok host MPI" in proc.stdout and "rank 1 ok host MPI" in proc.stdout
