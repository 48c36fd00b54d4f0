"""minigrad: a from-scratch deep-learning framework on NumPy (CPU) and CuPy (GPU)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))

# Packages are found, not listed: a new subpackage of minigrad/ cannot be left out of the wheel.
# kernels/ lives at the top of the repository and is installed as minigrad.kernels (package_dir below).
PACKAGES = find_packages(HERE, include=["minigrad", "minigrad.*"]) + ["minigrad.kernels"]


def read_version():
    """The one version source is ``__version__`` in minigrad/__init__.py (read as text: no import)."""
    with open(os.path.join(HERE, "minigrad", "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


# pytest-timeout: a test that hangs (a deadlocked child process, a stuck rank) fails with every thread's
# stack instead of stalling CI; tests/conftest.py gives each test a default limit
# build and wheel: the packaging tests build the sdist and wheel offline (--no-build-isolation)
TEST_DEPS = ["build>=1", "wheel>=0.40", "pytest>=7", "pytest-timeout>=2", "hypothesis>=6", "nbformat>=5", "nbclient>=0.7", "ipykernel>=6"]
# make_dot renders through the graphviz package (it also needs Graphviz's `dot` program, not on PyPI)
VIZ_DEPS = ["graphviz>=0.20"]
# threadpoolctl lets the conv kernels pin BLAS to one thread per chunk (no thread fights on few cores)
TRAIN_DEPS = ["mlxtend>=0.23", "tqdm>=4.60", "matplotlib>=3.5", "threadpoolctl>=3"]

setup(
    name="minigrad",
    version=read_version(),
    description="A small deep-learning framework written from scratch on NumPy and CuPy",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=PACKAGES,
    # kernels/ lives at the top of the repository but is installed inside the package.
    package_dir={"minigrad.kernels": "kernels"},
    install_requires=["numpy>=1.24", "numba>=0.58"],
    extras_require={
        "train": TRAIN_DEPS,
        "viz": VIZ_DEPS,
        "onnx": ["onnx>=1.14"],
        # safetensors only as the oracle of minigrad's own reader/writer; onnxruntime runs exported models
        "dev": TEST_DEPS + TRAIN_DEPS + VIZ_DEPS + ["safetensors>=0.4", "onnx>=1.14", "onnxruntime>=1.16"],
        # MPI from PyPI wheels: no system packages (MPICH's wheel runs as root; a system MPI works too)
        "distributed": ["mpi4py>=4", "mpich>=4"],
        # a GPU user's CuPy and Numba's CUDA target (kernels/gpu.py); a CPU install needs neither
        "cuda12": ["cupy-cuda12x>=13", "numba-cuda[cu12]>=0.20"],
        "cuda13": ["cupy-cuda13x>=13", "numba-cuda[cu13]>=0.20"],
    },
    entry_points={"console_scripts": ["minigrad=minigrad.__main__:main"]},
)
