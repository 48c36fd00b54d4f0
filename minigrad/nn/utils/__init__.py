"""``minigrad.nn.utils``: gradient clipping and inference helpers."""
