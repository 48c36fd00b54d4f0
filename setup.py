"""minigrad: a from-scratch deep-learning framework on NumPy (CPU) and CuPy (GPU)."""
from setuptools import setup

PACKAGES = [
    "minigrad",
    "minigrad.ops",
    "minigrad.nn",
    "minigrad.nn.utils",
    "minigrad.optim",
    "minigrad.utils",
    "minigrad.utils.data",
    "minigrad.kernels",
]

TEST_DEPS = ["pytest>=7", "hypothesis>=6", "nbformat>=5", "nbclient>=0.7", "ipykernel>=6"]
# threadpoolctl lets the conv kernels pin BLAS to one thread per chunk (no thread fights on few cores)
TRAIN_DEPS = ["mlxtend>=0.23", "tqdm>=4.60", "matplotlib>=3.5", "threadpoolctl>=3"]

setup(
    name="minigrad",
    version="0.1.0",
    description="A small deep-learning framework written from scratch on NumPy and CuPy",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=PACKAGES,
    # kernels/ lives at the top of the repository but is installed inside the package.
    package_dir={"minigrad.kernels": "kernels"},
    install_requires=["numpy>=1.24", "numba>=0.58"],
    extras_require={
        "train": TRAIN_DEPS,
        "dev": TEST_DEPS + TRAIN_DEPS + ["safetensors>=0.4"],
        "cuda12": ["cupy-cuda12x>=13"],
        "cuda13": ["cupy-cuda13x>=13"],
    },
    entry_points={"console_scripts": ["minigrad=minigrad.__main__:main"]},
)
