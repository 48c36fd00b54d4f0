"""DistributedDataParallel and SyncBatchNorm on 2 ranks: the same weights as one process on the whole batch."""
from .mpi_helpers import run_mpi

CODE = r"""
import numpy as np
import minigrad
from minigrad import nn, optim
import minigrad.distributed as dist
from minigrad.distributed import DistributedDataParallel as DDP

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
B, STEPS = 8, 4

def make(bn, seed=0):
    minigrad.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3)] + ([nn.BatchNorm2d(4)] if bn else []) + [
        nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 16)] + ([nn.BatchNorm1d(16)] if bn else []) + [
        nn.ReLU(), nn.Linear(16, 5)]
    return nn.Sequential(*layers)

def batch(step):
    rng = np.random.default_rng(1000 + step)
    x = rng.standard_normal((B, 1, 8, 8)).astype(np.float32) * 2 + 0.5
    return minigrad.tensor(x), minigrad.tensor(rng.integers(0, 5, B))

def train(model, steps, share):
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(steps):
        x, y = batch(step)
        x, y = x[share], y[share]
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model

def state(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}

def same_on_all_ranks(arrays):
    for a in arrays:
        out = [minigrad.tensor(np.zeros(a.shape)) for _ in range(size)]
        dist.all_gather(out, minigrad.tensor(a.astype(np.float64)))
        for o in out[1:]:
            np.testing.assert_array_equal(o.numpy(), out[0].numpy())

mine = slice(rank * B // size, (rank + 1) * B // size)

# 1. no BatchNorm: DDP on B/2 each == one process on B; rank 1 starts from other weights (broadcast at wrap)
for bn, sync in ((False, False), (True, True)):
    model = make(bn, seed=rank)          # rank 1's own init is replaced by rank 0's at wrap time
    if bn and rank == 1:
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.fill_(3.0)
    ddp = DDP(model, sync_batchnorm=sync)
    norms = [m for m in ddp.module.modules() if "BatchNorm" in type(m).__name__]
    assert len(norms) == (2 if bn else 0) and all(isinstance(m, nn.SyncBatchNorm) == sync for m in norms)
    train(ddp, STEPS, mine)
    ref = train(make(bn, seed=0), STEPS, slice(None))
    got, want = state(ddp.module), state(ref)
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=2e-5, atol=2e-6, err_msg=f"bn={bn} {k}")
    same_on_all_ranks(list(got.values()))
    # eval mode: no sync point, the same outputs as the reference
    ddp.eval(); ref.eval()
    x, _ = batch(99)
    np.testing.assert_allclose(ddp(x).detach().numpy(), ref(x).detach().numpy(), rtol=1e-4, atol=1e-5)

# 2. BatchNorm without sync: the statistics stay per rank, the weights stay in lockstep
ddp = DDP(make(True))
train(ddp, 2, mine)
rv = ddp.module[1].running_var.numpy()
out = [minigrad.zeros(4) for _ in range(size)]
dist.all_gather(out, minigrad.tensor(rv))
assert not np.allclose(out[0].numpy(), out[1].numpy()), "per-rank BatchNorm statistics should differ"
same_on_all_ranks([p.detach().numpy() for p in ddp.parameters()])

# 3. buckets: one parameter per bucket gives the same gradients as one bucket; the number of all-reduces
grads = {}
for cap in (1e-9, 25.0):
    ddp = DDP(make(False), bucket_cap_mb=cap)
    x, y = batch(0)
    nn.functional.cross_entropy(ddp(x[mine]), y[mine]).backward()
    grads[cap] = [p.grad.numpy().copy() for p in ddp.parameters()]
    n = len(list(ddp.parameters()))
    assert len(ddp.buckets) == (n if cap < 1 else 1) and ddp.allreduce_calls == len(ddp.buckets), (cap, ddp.buckets)
for a, b in zip(grads[1e-9], grads[25.0]):
    np.testing.assert_array_equal(a, b)
# the averaged gradient is the mean of the ranks' own gradients
local = make(False)
nn.functional.cross_entropy(local(x[mine]), y[mine]).backward()
for p, g in zip(local.parameters(), grads[25.0]):
    out = [minigrad.zeros(*p.shape) for _ in range(size)]
    dist.all_gather(out, p.grad)
    np.testing.assert_allclose(g, np.mean([o.numpy() for o in out], axis=0), rtol=1e-6, atol=1e-7)

# 4. unused parameters: one used on rank 1 only, one never used
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.never = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(3, 2)
    def forward(self, x):
        return self.a(x) + (self.b(x) if rank == 1 else 0)
ddp = DDP(Branchy())
x = minigrad.ones(4, 3)
ddp(x).sum().backward()
assert ddp.module.never.weight.grad is None and ddp.module.never.bias.grad is None
np.testing.assert_allclose(ddp.module.b.weight.grad.numpy(), np.full((2, 3), 4.0 / size), rtol=1e-6)
np.testing.assert_allclose(ddp.module.a.weight.grad.numpy(), np.full((2, 3), 4.0), rtol=1e-6)
# no_sync: local gradients only
ddp.zero_grad()
with ddp.no_sync():
    ddp(x).sum().backward()
assert ddp.module.b.weight.grad is None if rank == 0 else ddp.module.b.weight.grad is not None

# 5. different models on the ranks: the same clear error on every rank, at wrap time
try:
    DDP(nn.Sequential(nn.Linear(4, 5 + rank)))
except dist.DistributedError as e:
    assert "rank 1 holds a different model than rank 0" in str(e) and "(6, 4)" in str(e) and "(5, 4)" in str(e), e
else:
    raise AssertionError("no error for different models")
# SyncBatchNorm's backward is a collective: first-order only, and it says so
sbn, xx = nn.SyncBatchNorm(2), minigrad.randn(4, 2, requires_grad=True)
try:
    minigrad.autograd.grad((sbn(xx) ** 2).sum(), xx, create_graph=True)
except RuntimeError as e:
    assert "first-order only" in str(e), e
else:
    raise AssertionError("create_graph through SyncBatchNorm should raise")
print(f"rank {rank} ok")
"""


def test_ddp_on_two_ranks_equals_one_process_on_the_whole_batch(tmp_path):
    proc = run_mpi(CODE, tmp_path)
    assert "rank 0 ok" in proc.stdout and "rank 1 ok" in proc.stdout
