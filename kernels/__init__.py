"""Hot-loop kernels, installed as ``minigrad.kernels``.

``reference`` holds plain-NumPy loops (slow, obviously right: the oracle), ``cpu`` the Numba versions and
``gpu`` the CuPy versions with the same signatures. Ops never import these directly: they ask
``minigrad.backend.kernels(device)`` for the pair that matches their arrays.
"""
