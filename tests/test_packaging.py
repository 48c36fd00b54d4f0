"""The wheel is what users install: it must hold every module of the source tree (kernels/ as
minigrad.kernels) and nothing that is not the package (tests, notebooks, benchmarks)."""
import glob
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _source_modules():
    mods = set()
    for path in glob.glob(os.path.join(ROOT, "minigrad", "**", "*.py"), recursive=True):
        mods.add(os.path.relpath(path, ROOT).replace(os.sep, "/"))
    for path in glob.glob(os.path.join(ROOT, "kernels", "**", "*.py"), recursive=True):
        mods.add("minigrad/" + os.path.relpath(path, ROOT).replace(os.sep, "/"))
    return mods


def _clean_copy(tmp_path_factory):
    """The sources a build reads, copied: a build/ folder left in the checkout would hide a package that
    setup.py misses."""
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.nbi", "*.nbc")
    for name in ("minigrad", "kernels"):
        shutil.copytree(os.path.join(ROOT, name), src / name, ignore=skip)
    for name in ("setup.py", "README.md", "pyproject.toml", "MANIFEST.in"):
        if os.path.exists(os.path.join(ROOT, name)):
            shutil.copy(os.path.join(ROOT, name), src / name)
    return src


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(wheel, sdist) made by ``python -m build`` as a user or CI would, but offline: --no-isolation builds
    with the installed setuptools and wheel (the [dev] extra) instead of downloading them. Without --sdist or
    --wheel, build makes the sdist first and the wheel from the unpacked sdist, so the wheel also proves that
    the sdist holds everything a build needs."""
    src, out = _clean_copy(tmp_path_factory), tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.fail(f"python -m build failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    (whl,) = glob.glob(str(out / "*.whl"))
    (sdist,) = glob.glob(str(out / "minigrad-*.tar.gz"))
    return whl, sdist


@pytest.fixture(scope="module")
def wheel(dists):
    return dists[0]


def test_wheel_holds_every_module_of_the_source_tree(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_source_modules() - names)
    assert not missing, f"modules of the source tree missing from the wheel: {missing}"
    assert "minigrad/models/__init__.py" in names      # the package a hand-written list once left out


def test_wheel_holds_nothing_but_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    stray = [n for n in names if not (n.startswith("minigrad/") or ".dist-info/" in n)]
    assert not stray, f"files outside the minigrad package in the wheel: {stray}"
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/", "kernels/")) for n in names)


def test_wheel_version_is_the_package_version(wheel):
    import minigrad
    assert os.path.basename(wheel).startswith(f"minigrad-{minigrad.__version__}-")


def test_version_flag_prints_the_version():
    import minigrad
    r = subprocess.run([sys.executable, "-m", "minigrad", "--version"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"minigrad {minigrad.__version__}"


def test_sdist_holds_the_sources_and_nothing_else(dists):
    import tarfile
    _, sdist = dists
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    expected = {m.replace("minigrad/kernels/", "kernels/", 1) for m in _source_modules()}
    expected |= {"setup.py", "README.md", "pyproject.toml"}
    assert not sorted(expected - names), f"missing from the sdist: {sorted(expected - names)}"
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/")) for n in names)


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_runs_the_job_from_outside_the_checkout(wheel, tmp_path):
    """What a user does after ``pip install minigrad-*.whl``, offline: a fresh virtual environment (NumPy,
    Numba, mlxtend from the system's site-packages, since nothing may be downloaded here), the wheel
    installed without its dependencies, then the job, ``summary`` and the console script run from a folder
    outside the checkout. The installed copy must be the one imported (the checkout's editable install is
    only a fallback finder, behind the venv's own site-packages). .ci/wheel-check does the same with a
    clean venv and the [train,onnx] extras from PyPI."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    py, console = str(venv / "bin" / "python"), str(venv / "bin" / "minigrad")
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--disable-pip-version-check",
                        wheel], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    outside = tmp_path / "outside"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"

    def sh(*args):
        r = subprocess.run(list(args), capture_output=True, text=True, cwd=outside, env=env, timeout=600)
        assert r.returncode == 0, f"{args}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    where = sh(py, "-c", "import minigrad.models, minigrad.kernels.cpu; print(minigrad.__file__)").strip()
    assert where.startswith(str(venv)) and not where.startswith(ROOT), where
    out = sh(py, "-m", "minigrad", "train", "lenet5", "--limit", "200", "--epochs", "1", "--no-progress",
             "--out", "run")
    assert "test top-1" in out and (outside / "run" / "metrics.csv").stat().st_size > 0
    assert "LeNet" in sh(py, "-m", "minigrad", "summary", "lenet5")
    import minigrad
    assert sh(console, "--version").strip() == f"minigrad {minigrad.__version__}"
