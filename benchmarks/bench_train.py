"""One full training step (forward, cross-entropy, backward, SGD with momentum), minigrad vs PyTorch CPU.

Workloads: LeNet-5 on a batch of 128 1x32x32 images and the CIFAR ResNet-20 on 128 3x32x32 images,
float32. Each framework runs in its own subprocess (so neither's allocator or threads disturb the other)
and reports the median step time and the memory of a step: the resident set's high-water mark over the
steps (reset after set-up through /proc/self/clear_refs) minus the resident set before the first step,
and the process's whole peak (imports included) beside it.

    python benchmarks/bench_train.py            # full run (a few minutes)
    python benchmarks/bench_train.py --quick    # smoke run for the tests
    python benchmarks/bench_train.py --threads 1   # both on one thread: per-core efficiency, and far
                                                   # steadier than 2 threads on a loaded machine
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ------------------------------------------------------------------------------------------ the two sides

def torch_models():
    import torch
    from torch import nn

    class LeNet5(nn.Sequential):
        def __init__(self):
            super().__init__(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.pad = cout - cin
            self.stride = stride

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            sc = x
            if self.stride != 1 or self.pad:   # option A: subsample and zero-pad the channels
                sc = x[:, :, ::self.stride, ::self.stride]
                sc = nn.functional.pad(sc, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
            return torch.relu(out + sc)

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            layers, cin = [], 16
            for cout, stride in ((16, 1), (32, 2), (64, 2)):
                for i in range(3):
                    layers.append(Block(cin, cout, stride if i == 0 else 1))
                    cin = cout
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.layers(x)
            return self.fc(x.mean((2, 3)))

    return {"lenet5": LeNet5, "resnet20": ResNet20}


def run_one(framework, workload, steps, batch):
    """Runs inside the subprocess; prints one JSON line."""
    import numpy as np
    shape = (batch, 1, 32, 32) if workload == "lenet5" else (batch, 3, 32, 32)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape).astype(np.float32)
    y_np = rng.integers(0, 10, batch)
    if framework == "torch":
        import torch
        torch.manual_seed(0)
        model = torch_models()[workload]()
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        F = torch.nn.functional
    else:
        sys.path.insert(0, ROOT)
        import minigrad
        from minigrad.nn import functional as F
        minigrad.manual_seed(0)
        model = getattr(minigrad.models, workload)()
        x, y = minigrad.tensor(x_np), minigrad.tensor(y_np)
        opt = minigrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def step(x=x, y=y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    step(x[:2], y[:2])                      # compile the kernels (Numba) on a tiny batch: not a step's memory
    gflop = step_gflop(model, x) if framework == "minigrad" else 0.0
    base = _rss_kib("VmRSS")                # after imports, model, data and JIT: what the steps add is measured
    exact_peak = _reset_peak()
    step()                                  # warm-up: allocator pools (counted in the memory)
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = _rss_kib("VmHWM")
    result = {"median_ms": 1e3 * statistics.median(times), "cpu_ms": 1e3 * statistics.median(cpu), "step_mib": (peak - base) / 1024,
              "peak_mib": peak / 1024, "exact_peak": exact_peak, "gflop": gflop, "gemm": gemm_rate()}
    if framework == "minigrad":
        result["breakdown"] = breakdown(step, 3)
    print(json.dumps(result))


def step_gflop(model, x):
    """GFLOP of a training step's convolutions and linear layers: 3x their forward multiply-adds x 2 (the
    forward, the input gradient and the weight gradient)."""
    import minigrad
    nn, flop, hooks = minigrad.nn, [0], []

    def count(m, args, y):
        w = m.weight
        flop[0] += 2 * y.numel() * (w.numel() // w.shape[0])   # per output: in/groups * kH * kW products

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(count))
    with minigrad.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return 3 * flop[0] / 1e9


def gemm_rate(n=1024, repeat=5):
    """This process's NumPy float32 GEMM rate in GFLOP per CPU second (best of ``repeat``): the ceiling of
    a step made of im2col + GEMM, on the threads the step ran on, and steady on a loaded machine."""
    import numpy as np
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeat))
    return 2 * n ** 3 / best / 1e9


def _timed(fn):
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


# Where a minigrad step goes: every Function's forward and backward is timed (only the outermost one when
# they nest: a backward written with other ops counts once), by the module that defines it, and so is the
# optimizer's step; "engine and Python" is what is left of the step: graph recording, the backward walk,
# Tensor wrapping, gradient accumulation, the modules' own Python.
_CATEGORIES = {"conv": "conv", "normalization": "batch norm", "pool": "pool", "elementwise": "elementwise",
               "activation": "elementwise", "linalg": "linear", "loss": "loss"}


def breakdown(step, steps):
    """{category: share of the step}, over ``steps`` steps with every Function's methods timed."""
    import minigrad
    from minigrad.autograd import Function
    spent, depth = {}, [0]

    def timed(method, category):
        def run(*args):
            if depth[0]:
                return method(*args)
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                return method(*args)
            finally:
                spent[category] = spent.get(category, 0.0) + time.perf_counter() - t0
                depth[0] -= 1
        return run

    classes, todo = [], [Function]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo.extend(cls.__subclasses__())
    patched = []
    for cls in classes:
        module = cls.__module__.rsplit(".", 1)[-1]
        category = _CATEGORIES.get(module, "other ops")
        for name in ("forward", "backward"):
            if name in vars(cls):
                patched.append((cls, name, vars(cls)[name]))
                setattr(cls, name, timed(vars(cls)[name], category))
    optimizer = minigrad.optim.SGD
    patched.append((optimizer, "step", vars(optimizer)["step"]))
    optimizer.step = timed(vars(optimizer)["step"], "optimizer")
    try:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        total = time.perf_counter() - t0
    finally:
        for cls, name, method in patched:
            setattr(cls, name, method)
    spent["engine and Python"] = total - sum(spent.values())
    return {k: v / total for k, v in spent.items()}


_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def measure(framework, workload, steps, batch, threads=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework, workload, str(steps), str(batch)]
    env = dict(os.environ, **({v: str(threads) for v in _THREAD_VARS} if threads else {}))
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{framework} {workload} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few steps, small batch: a smoke run")
    p.add_argument("--steps", type=int, help="timed steps per run (default 20)")
    p.add_argument("--rounds", type=int, help="alternating runs per framework (default 3)")
    p.add_argument("--only", choices=("lenet5", "resnet20"), help="one workload")
    p.add_argument("--threads", type=int, help="threads for both frameworks (default: each one's own)")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        fw, wl, steps, batch = args.child
        return run_one(fw, wl, int(steps), int(batch))

    steps, batch, rounds = (2, 8, 1) if args.quick else (20, 128, 3)
    steps, rounds = args.steps or steps, args.rounds or rounds
    try:
        import torch  # noqa: F401
        peers = ["minigrad", "torch"]
    except ImportError:
        peers = ["minigrad"]
        print("torch is not installed: minigrad only, no ratios")
    print(f"training step, batch {batch}, float32, best of {rounds} alternating runs of the median of {steps} "
          f"steps, {args.threads or 'default'} threads; memory: growth of the resident set over the steps (MiB); "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"{'workload':<10} {'minigrad ms':>12} {'torch ms':>10} {'ratio':>7} {'minigrad MiB':>13} "
          f"{'torch MiB':>10} {'mem ratio':>9} {'process peak MiB (minigrad / torch)':>37}")
    breakdowns = {}
    for workload in [args.only] if args.only else ("lenet5", "resnet20"):
        # The frameworks take turns (rounds of one process each) and each keeps its best median, so a
        # burst of load from elsewhere on a shared machine does not decide the ratio.
        r, per_round, cpu_per_round = {}, [], []
        for _ in range(rounds):
            this = {}
            for fw in peers:
                this[fw] = got = measure(fw, workload, steps, batch, args.threads)
                if fw not in r or got["median_ms"] < r[fw]["median_ms"]:
                    r[fw] = dict(got, cpu_ms=min(got["cpu_ms"], r.get(fw, got)["cpu_ms"]))
                else:
                    r[fw]["cpu_ms"] = min(r[fw]["cpu_ms"], got["cpu_ms"])
            if "torch" in this:
                per_round.append(this["minigrad"]["median_ms"] / this["torch"]["median_ms"])
                cpu_per_round.append(this["minigrad"]["cpu_ms"] / this["torch"]["cpu_ms"])
        m, t = r["minigrad"], r.get("torch")
        if t:
            print(f"{workload:<10} {m['median_ms']:12.1f} {t['median_ms']:10.1f} "
                  f"{m['median_ms'] / t['median_ms']:7.2f} {m['step_mib']:13.0f} {t['step_mib']:10.0f} "
                  f"{m['step_mib'] / max(t['step_mib'], 1e-9):9.2f} "
                  f"{m['peak_mib']:24.0f} / {t['peak_mib']:.0f}   (ratio per round: "
                  f"{', '.join(f'{q:.2f}' for q in per_round)}; load average {os.getloadavg()[0]:.1f})")
        else:
            print(f"{workload:<10} {m['median_ms']:12.1f} {'-':>10} {'-':>7} {m['step_mib']:13.0f}")
        if t:
            cpu_rounds = ", ".join(f"{q:.2f}" for q in cpu_per_round)
            print(f"{'':<10} CPU time per step (all threads): minigrad {m['cpu_ms']:.1f} ms, torch {t['cpu_ms']:.1f} ms,"
                  f" ratio {m['cpu_ms'] / t['cpu_ms']:.2f} (per round: {cpu_rounds}; with --threads 1 the steadier"
                  f" measure on a loaded machine)")
        gf = m["gflop"] / m["cpu_ms"] * 1e3
        print(f"{'':<10} minigrad {gf:.1f} GFLOP per CPU second = {gf / m['gemm']:.0%} of its NumPy GEMM's "
              f"({m['gemm']:.0f}; {m['gflop']:.2f} GFLOP of conv and linear per step)")
        breakdowns[workload] = m["breakdown"], m["median_ms"]
    for workload, (shares, ms) in breakdowns.items():
        print(f"\nwhere minigrad's {workload} step goes (shares of the step, scaled to its median {ms:.1f} ms):")
        for category, share in sorted(shares.items(), key=lambda kv: -kv[1]):
            print(f"  {category:<18} {share:6.1%} {share * ms:8.1f} ms")


if __name__ == "__main__":
    main()
