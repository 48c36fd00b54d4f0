"""Inference speed before and after nn.utils.fuse_conv_bn (BatchNorm folded into the preceding conv).

    python benchmarks/bench_fuse.py            # the full table (a minute or two on 2 cores)
    python benchmarks/bench_fuse.py --quick    # a smoke run, used by the tests

For each workload: median forward time (eval mode, no_grad; the two models run in turns) of the model as
built and of its fused copy, the speedup, and the fused model's achieved GFLOP/s (2 x multiply-adds from
minigrad.summary) against the float32 GEMM rate NumPy reaches on this machine in the same run. The outputs
are checked to agree.
"""
import argparse
import copy
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minigrad  # noqa: E402
from minigrad import models  # noqa: E402
from minigrad.nn.utils import fuse_conv_bn  # noqa: E402


def median_time(fn, repeats):
    fn()  # warm-up (Numba compilation, allocator)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def median_times_interleaved(fns, repeats):
    """Median time of each of ``fns``, run in turns so that drift in the machine's load hits all alike."""
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
    return [float(np.median(ts)) for ts in times]


def gemm_gflops(n, repeats):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    return 2 * n ** 3 / median_time(lambda: a @ a, repeats) / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny workloads, one repeat (smoke test)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 15)
    # name, builder kwargs, batch, one sample's shape
    workloads = ([("resnet20", {}, 2, (3, 32, 32)), ("mobilenet_v2", {"width_mult": 0.5}, 1, (3, 32, 32))]
                 if args.quick else
                 [("resnet20", {}, 32, (3, 32, 32)), ("resnet18", {}, 8, (3, 64, 64)),
                  ("resnet50", {}, 4, (3, 64, 64)), ("mobilenet_v2", {}, 8, (3, 64, 64)),
                  ("efficientnet_b0", {}, 8, (3, 64, 64))])
    peak = gemm_gflops(256 if args.quick else 1024, repeats)
    print(f"NumPy float32 GEMM: {peak:.1f} GFLOP/s")
    head = f"{'workload':<34}{'unfused ms':>12}{'fused ms':>10}{'speedup':>9}{'GFLOP/s':>9}{'of GEMM':>9}"
    print(head)
    print("-" * len(head))
    rng = np.random.default_rng(0)
    results = []
    for name, kw, batch, shape in workloads:
        minigrad.manual_seed(0)
        model = models.get_model(name, **kw).eval()
        x = minigrad.tensor(rng.standard_normal((batch,) + shape).astype(np.float32))
        macs = models.summary(model, input_data=x).total_macs
        fused = fuse_conv_bn(copy.deepcopy(model))
        with minigrad.no_grad():
            y0, y1 = model(x).numpy(), fused(x).numpy()
            assert np.allclose(y0, y1, rtol=1e-3, atol=1e-4 * np.abs(y0).max()), "fused outputs differ"
            t0, t1 = median_times_interleaved([lambda: model(x), lambda: fused(x)], repeats)
        gflops = 2 * macs / t1 / 1e9
        label = f"{name} b{batch} {'x'.join(map(str, shape))}"
        print(f"{label:<34}{t0 * 1e3:>12.1f}{t1 * 1e3:>10.1f}{t0 / t1:>8.2f}x{gflops:>9.1f}{gflops / peak:>8.0%}")
        results.append((label, t0, t1))
    return results


if __name__ == "__main__":
    main()
