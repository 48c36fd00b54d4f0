"""Convolution, pooling and BatchNorm: minigrad against PyTorch (CPU) in the same run, float32.

    python benchmarks/bench_conv.py            # the full table (a few minutes on 2 cores)
    python benchmarks/bench_conv.py --quick    # a smoke run with tiny shapes (the tests run this)

For every workload it prints the median time of minigrad and PyTorch (when installed), their ratio, and
minigrad's GFLOP/s as a fraction of NumPy's float32 GEMM rate measured at the start of the same run (the
machine's ceiling for an im2col + GEMM convolution). The two frameworks are timed in alternating blocks,
so a busy machine slows both alike. PyTorch runs with its default thread count.
"""
import argparse
import math
import os
import time

import numpy as np

import minigrad
import minigrad.nn.functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = None

# name, N, C_in, C_out, H (=W), kernel, stride, padding, groups
CONVS = [
    ("LeNet conv1 1->6 32x32 5x5", 128, 1, 6, 32, 5, 1, 0, 1),
    # every distinct conv of the CIFAR ResNet-20 (batch 128; its option-A shortcuts have no convs)
    ("ResNet-20 conv1 3->16 32x32 3x3", 128, 3, 16, 32, 3, 1, 1, 1),
    ("ResNet 16->16 32x32 3x3", 128, 16, 16, 32, 3, 1, 1, 1),
    ("ResNet-20 16->32 32x32 3x3/2", 128, 16, 32, 32, 3, 2, 1, 1),
    ("ResNet-20 32->32 16x16 3x3", 128, 32, 32, 16, 3, 1, 1, 1),
    ("ResNet-20 32->64 16x16 3x3/2", 128, 32, 64, 16, 3, 2, 1, 1),
    ("ResNet 64->64 8x8 3x3", 128, 64, 64, 8, 3, 1, 1, 1),
    ("VGG 64->128 56x56 3x3", 32, 64, 128, 56, 3, 1, 1, 1),
    ("AlexNet conv1 3->96 227x227 11x11/4", 16, 3, 96, 227, 11, 4, 0, 1),
    ("depthwise 32ch 56x56 3x3", 64, 32, 32, 56, 3, 1, 1, 32),
]
# name, shape, kernel, stride
POOLS = [
    ("max-pool 2x2/2", (128, 64, 32, 32), 2, 2),
    ("max-pool 3x3/2", (128, 64, 32, 32), 3, 2),
]
# name, shape
NORMS = [
    ("BatchNorm2d 64ch 32x32 train", (128, 64, 32, 32)),
    ("BatchNorm2d 16ch 32x32 train", (128, 16, 32, 32)),
]
TARGETS = {"fwd+bwd": 3.0, "fwd": 4.0, "pool": 2.0, "norm": 1.0, "geomean": 2.5}
RESNET_FWD_TARGET = 1.3      # issue 14: every ResNet-20 conv layer's forward within 1.3x of PyTorch


def blas_name():
    """NumPy's BLAS and the kernel set it runs (e.g. 'openblas Haswell'): the GEMM ceiling depends on it."""
    try:
        from threadpoolctl import threadpool_info
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return " ".join(str(blas[0].get(k, "")) for k in ("internal_api", "architecture")) if blas else "?"
    except ImportError:
        return "?"


def gemm_rate(n, repeat):
    """NumPy float32 matrix product rate in GFLOP/s: the best of ``repeat`` (the ceiling, not the typical)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeat):
        t = clock()
        a @ b
        times.append(clock() - t)
    return 2 * n ** 3 / min(times) / 1e9


clock = time.perf_counter     # --cpu-time: time.process_time (steady on a loaded machine, with one thread)


def timed_pair(run_minigrad, run_torch, repeat, rounds=3):
    """Median seconds of each. The two run in alternating blocks (one untimed call first in each block),
    so a busy machine slows both alike but neither is timed while the other's threads still spin (an
    OpenMP runtime keeps its threads busy-waiting for a while after each call)."""
    tm, tt = [], []
    per_round = max(1, -(-repeat // rounds))
    for _ in range(rounds):
        for run, times in ((run_minigrad, tm), (run_torch, tt)):
            if run is None:
                continue
            run()
            for _ in range(per_round):
                t = clock()
                run()
                times.append(clock() - t)
    return np.median(tm), (np.median(tt) if tt else float("nan"))


def conv_runs(N, C, O, H, K, S, P, G):
    """(forward, forward+backward) callables for minigrad and for torch (None without torch)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H), dtype=np.float32)
    w = rng.standard_normal((O, C // G, K, K), dtype=np.float32) * np.float32(0.1)
    OH = (H + 2 * P - K) // S + 1
    gy = rng.standard_normal((N, O, OH, OH), dtype=np.float32)

    mx, mw = minigrad.tensor(x, requires_grad=True), minigrad.tensor(w, requires_grad=True)
    mgy = minigrad.tensor(gy)

    def m_fwd():
        return F.conv2d(mx, mw, stride=S, padding=P, groups=G)

    def m_fwd_bwd():
        mx.grad = mw.grad = None
        m_fwd().backward(mgy)

    if torch is None:
        return (m_fwd, None), (m_fwd_bwd, None)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tgy = torch.tensor(gy)

    def t_fwd():
        return TF.conv2d(tx, tw, stride=S, padding=P, groups=G)

    def t_fwd_bwd():
        tx.grad = tw.grad = None
        t_fwd().backward(tgy)

    return (m_fwd, t_fwd), (m_fwd_bwd, t_fwd_bwd)


def pool_runs(shape, K, S):
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    mx = minigrad.tensor(x, requires_grad=True)
    OH = (shape[2] - K) // S + 1
    gy = np.random.default_rng(1).standard_normal(shape[:2] + (OH, OH), dtype=np.float32)
    mgy = minigrad.tensor(gy)

    def m_run():
        mx.grad = None
        F.max_pool2d(mx, K, S).backward(mgy)

    if torch is None:
        return m_run, None
    tx, tgy = torch.tensor(x, requires_grad=True), torch.tensor(gy)

    def t_run():
        tx.grad = None
        TF.max_pool2d(tx, K, S).backward(tgy)

    return m_run, t_run


def norm_runs(shape):
    """(forward, forward+backward) of a training BatchNorm2d with affine parameters (minigrad, torch)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    gy = rng.standard_normal(shape, dtype=np.float32)
    C = shape[1]
    mx, mgy = minigrad.tensor(x, requires_grad=True), minigrad.tensor(gy)
    mw, mb = minigrad.ones(C, requires_grad=True), minigrad.zeros(C, requires_grad=True)
    mrm, mrv = minigrad.zeros(C), minigrad.ones(C)

    def m_fwd():
        return F.batch_norm(mx, mrm, mrv, mw, mb, training=True)

    def m_fwd_bwd():
        mx.grad = mw.grad = mb.grad = None
        m_fwd().backward(mgy)

    if torch is None:
        return (m_fwd, None), (m_fwd_bwd, None)
    tx, tgy = torch.tensor(x, requires_grad=True), torch.tensor(gy)
    tw, tb = torch.ones(C, requires_grad=True), torch.zeros(C, requires_grad=True)
    trm, trv = torch.zeros(C), torch.ones(C)

    def t_fwd():
        return TF.batch_norm(tx, trm, trv, tw, tb, training=True)

    def t_fwd_bwd():
        tx.grad = tw.grad = tb.grad = None
        t_fwd().backward(tgy)

    return (m_fwd, t_fwd), (m_fwd_bwd, t_fwd_bwd)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes and few repeats (smoke test)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per measurement (default 12)")
    parser.add_argument("--only", help="only the workloads whose name contains this text (e.g. 'ResNet')")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time in process CPU seconds: with NUMBA_NUM_THREADS=OMP_NUM_THREADS="
                             "OPENBLAS_NUM_THREADS=1, per-core cost that a loaded machine does not distort")
    args = parser.parse_args(argv)
    global clock
    clock = time.process_time if args.cpu_time else time.perf_counter
    repeat = args.repeat or (2 if args.quick else 12)
    batch = (lambda n: 2) if args.quick else (lambda n: n)
    size = (lambda h: min(h, 12)) if args.quick else (lambda h: h)

    rate = gemm_rate(256 if args.quick else 2048, 3 * repeat)
    print(f"NumPy float32 GEMM: {rate:.0f} GFLOP/s ({blas_name()}; {'CPU' if args.cpu_time else 'wall'} time; "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())})"
          + (f"; PyTorch {torch.__version__} with {torch.get_num_threads()} threads" if torch else
             "; PyTorch not installed"))
    print()
    header = f"{'workload':<38} {'pass':<8} {'minigrad ms':>11} {'torch ms':>9} {'ratio':>6} {'target':>6} " \
             f"{'GFLOP/s':>8} {'of GEMM':>8}"
    print(header)
    print("-" * len(header))
    rows = []

    def report(name, kind, tm, tt, flops, target):
        ratio = tm / tt if tt == tt else float("nan")
        gflops = flops / tm / 1e9 if flops else float("nan")
        ok = "" if ratio != ratio else ("ok" if ratio <= target else "MISS")
        rows.append((name, kind, tm, tt, ratio, target, ok))
        gf = f"{gflops:8.1f} {gflops / rate:7.0%}" if flops else f"{'-':>8} {'-':>8}"
        print(f"{name:<38} {kind:<8} {tm * 1e3:11.2f} {tt * 1e3:9.2f} {ratio:6.2f} {target:5.1f}x {gf} {ok}")

    def chosen(items):
        return [i for i in items if not args.only or args.only.lower() in i[0].lower()]

    for name, N, C, O, H, K, S, P, G in chosen(CONVS):
        N, H = batch(N), size(H)
        K = min(K, H)
        OH = (H + 2 * P - K) // S + 1
        flops = 2 * N * O * OH * OH * (C // G) * K * K
        (mf, tf), (mfb, tfb) = conv_runs(N, C, O, H, K, S, P, G)
        tm, tt = timed_pair(mf, tf, repeat)
        report(name, "fwd", tm, tt, flops, RESNET_FWD_TARGET if name.startswith("ResNet") else TARGETS["fwd"])
        tm, tt = timed_pair(mfb, tfb, repeat)
        report(name, "fwd+bwd", tm, tt, 3 * flops, TARGETS["fwd+bwd"])
    for name, shape, K, S in chosen(POOLS):
        shape = (batch(shape[0]), shape[1], size(shape[2]), size(shape[3]))
        m, t = pool_runs(shape, K, S)
        tm, tt = timed_pair(m, t, repeat)
        report(name, "fwd+bwd", tm, tt, 0, TARGETS["pool"])

    for name, shape in chosen(NORMS):
        shape = (batch(shape[0]), shape[1], size(shape[2]), size(shape[3]))
        (mf, tf), (mfb, tfb) = norm_runs(shape)
        tm, tt = timed_pair(mf, tf, repeat)
        report(name, "fwd", tm, tt, 0, TARGETS["norm"])
        tm, tt = timed_pair(mfb, tfb, repeat)
        report(name, "fwd+bwd", tm, tt, 0, TARGETS["norm"])

    conv_names = {c[0] for c in CONVS}
    conv_fb = [r[4] for r in rows if r[1] == "fwd+bwd" and r[0] in conv_names]
    if torch is not None and conv_fb:
        geo = math.exp(sum(math.log(r) for r in conv_fb) / len(conv_fb))
        print()
        print(f"geometric mean of the conv fwd+bwd ratios: {geo:.2f} (target {TARGETS['geomean']}x)"
              f" {'ok' if geo <= TARGETS['geomean'] else 'MISS'}")
        misses = [f"{r[0]} {r[1]}" for r in rows if r[6] == "MISS"]
        print("all targets met" if not misses and geo <= TARGETS["geomean"] else f"missed: {', '.join(misses)}")
    return rows


if __name__ == "__main__":
    main()
