"""The conv benchmark runs end to end in its --quick smoke mode."""
import os
import runpy

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_conv.py")


def test_bench_conv_quick(capsys):
    bench = runpy.run_path(BENCH)
    rows = bench["main"](["--quick"])
    out = capsys.readouterr().out
    assert "GEMM" in out and "ResNet 16->16" in out and "max-pool 3x3/2" in out
    # every conv timed forward and forward+backward, every pool forward+backward
    assert len(rows) == 2 * len(bench["CONVS"]) + len(bench["POOLS"]) and all(r[2] > 0 for r in rows)
