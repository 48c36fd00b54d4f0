"""Data-parallel training on 1 and 2 MPI ranks of this machine: images/s, scaling efficiency, allreduce time.

Workloads: LeNet-5 (1x32x32) and the CIFAR ResNet-20 (3x32x32), float32, synthetic images, SGD with
momentum; the same global batch on 1 rank and on 2 ranks (half each, DistributedDataParallel), one thread
per rank (OMP/BLAS/Numba pinned to 1). Each configuration is its own ``mpiexec -n R`` launch, repeated
``--runs`` times alternating 1 and 2 ranks; a run reports the median step time of its steps. Scaling
efficiency = (images/s on 2 ranks) / (2 x images/s on 1 rank); "allreduce" is the time per step that
DistributedDataParallel spent averaging the gradients (its fused buckets), on rank 0.

    python benchmarks/bench_distributed.py            # full run (a few minutes)
    python benchmarks/bench_distributed.py --quick    # smoke run for the tests (LeNet-5, a few steps)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
WORKLOADS = {"lenet5": ((1, 32, 32), 128, 20), "resnet20": ((3, 32, 32), 64, 4)}   # shape, global batch, steps


def worker(name, batch, steps, warmup):
    """One rank's part of a run; rank 0 prints one JSON line: median step seconds, allreduce s per step."""
    import numpy as np
    import minigrad
    import minigrad.distributed as dist
    from minigrad import models, nn, optim
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    shape = WORKLOADS[name][0]
    minigrad.manual_seed(0)
    model = models.get_model(name, num_classes=10, **({"in_channels": shape[0]} if name != "lenet5" else {}))
    net = dist.DistributedDataParallel(model) if size > 1 else model
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    x = minigrad.tensor(rng.standard_normal((batch // size, *shape)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 10, batch // size))
    times, comm = [], []
    for step in range(warmup + steps):
        dist.barrier()
        before = getattr(net, "comm_seconds", 0.0)
        start = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
            comm.append(getattr(net, "comm_seconds", 0.0) - before)
    if rank == 0:
        buckets = len(net.buckets) if size > 1 else 0
        print(json.dumps({"step_s": statistics.median(times), "comm_s": statistics.median(comm),
                          "buckets": buckets}), flush=True)


def launch(ranks, name, batch, steps, warmup):
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [shutil.which("mpiexec"), "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker", name,
           "--batch", str(batch), "--steps", str(steps), "--warmup", str(warmup)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=int, default=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.batch, args.steps, args.warmup)
    if shutil.which("mpiexec") is None:
        raise SystemExit("bench_distributed: mpiexec not found (pip install minigrad[distributed])")
    names = ["lenet5"] if args.quick else list(WORKLOADS)
    runs = 1 if args.quick else args.runs
    rows = []
    print(f"{'workload':<22}{'ranks':>6}{'images/s':>12}{'spread':>10}{'efficiency':>12}"
          f"{'allreduce/step':>16}{'buckets':>9}")
    for name in names:
        shape, batch, steps = WORKLOADS[name]
        steps, warmup = (3, 1) if args.quick else (steps, 2 if name == "lenet5" else 1)
        results = {1: [], 2: []}
        for _ in range(runs):              # alternate, so a load change on the machine hits both alike
            for ranks in (1, 2):
                results[ranks].append(launch(ranks, name, batch, steps, warmup))
        rate = {r: [batch / x["step_s"] for x in results[r]] for r in (1, 2)}
        for ranks in (1, 2):
            med = statistics.median(rate[ranks])
            spread = (max(rate[ranks]) - min(rate[ranks])) / med * 100
            eff = med / (ranks * statistics.median(rate[1]))
            comm = statistics.median(x["comm_s"] for x in results[ranks]) * 1e3
            label = f"{name} batch {batch}"
            print(f"{label:<22}{ranks:>6}{med:>12.0f}{spread:>9.0f}%{eff:>11.0%} "
                  f"{comm:>12.2f} ms{results[ranks][0]['buckets']:>9}")
            rows.append((name, ranks, med, spread, eff, comm))
    return rows


if __name__ == "__main__":
    main()
