"""Testing tools: ``cuda_sim``, the simulated CUDA device (``MINIGRAD_SIMULATE_CUDA=1``)."""
