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
def wheel(tmp_path_factory):
    src, out = _clean_copy(tmp_path_factory), tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                        "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{r.stderr[-3000:]}")
    (whl,) = glob.glob(str(out / "*.whl"))
    return whl


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


def test_sdist_holds_the_sources_and_builds_the_same_wheel(tmp_path_factory):
    import tarfile
    src, out = _clean_copy(tmp_path_factory), tmp_path_factory.mktemp("sdist")
    r = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(out)], cwd=src, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (sdist,) = glob.glob(str(out / "minigrad-*.tar.gz"))
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    expected = {m.replace("minigrad/kernels/", "kernels/", 1) for m in _source_modules()} | {"setup.py", "README.md"}
    assert not sorted(expected - names), f"missing from the sdist: {sorted(expected - names)}"
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/")) for n in names)
    unpacked = tmp_path_factory.mktemp("unpacked")
    tarfile.open(sdist).extractall(unpacked, filter="data")
    (root,) = glob.glob(str(unpacked / "minigrad-*"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(out), root], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = glob.glob(str(out / "*.whl"))
    assert _source_modules() <= set(zipfile.ZipFile(whl).namelist())
