"""Run teaching notebooks top to bottom in one fresh kernel, with figures inline.

    python notebooks/execute.py notebooks/01_autograd.ipynb ...     # full mode, outputs written in place
    python notebooks/execute.py --quick --out /tmp/nb notebooks/*.ipynb

Full mode is what gets committed (a student reads the outputs on GitHub); quick mode
(``MINIGRAD_NB_QUICK=1``: less data, fewer epochs) is what the tests run. The kernel imports minigrad from
this checkout and draws matplotlib figures as inline PNGs, whatever ``MPLBACKEND`` the caller has.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INLINE = "module://matplotlib_inline.backend_inline"


def execute(path, quick, timeout=900):
    """The notebook at ``path`` executed in a new kernel; returns (notebook, seconds spent in cells)."""
    import nbclient
    import nbformat
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    env = {"MINIGRAD_NB_QUICK": "1" if quick else "0", "MPLBACKEND": INLINE,
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)        # the kernel inherits this process's environment
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb, cell_seconds(nb)


def cell_seconds(nb):
    """Total time the kernel spent running the code cells (nbclient's timing metadata; no kernel start)."""
    from datetime import datetime
    total = 0.0
    for cell in nb.cells:
        t = cell.metadata.get("execution", {}) if cell.cell_type == "code" else {}
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            start, end = (datetime.fromisoformat(t[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            total += (end - start).total_seconds()
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--quick", action="store_true", help="MINIGRAD_NB_QUICK=1 (the tests' mode)")
    parser.add_argument("--out", help="write the executed copies here instead of in place")
    args = parser.parse_args(argv)
    import nbformat
    for path in args.notebooks:
        t0 = time.perf_counter()
        nb, cells = execute(path, args.quick)
        target = os.path.join(args.out, os.path.basename(path)) if args.out else path
        if args.out:
            os.makedirs(args.out, exist_ok=True)
        tmp = target + ".tmp"
        nbformat.write(nb, tmp)
        os.replace(tmp, target)
        print(f"{os.path.basename(path)}: {'quick' if args.quick else 'full'} mode, cells {cells:.1f} s, "
              f"wall {time.perf_counter() - t0:.1f} s, {os.path.getsize(target) / 1e6:.2f} MB -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
