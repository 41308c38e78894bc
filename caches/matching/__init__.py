"""The caches that meet each bound: the packer (TIGHT) and the matching caches of S1-S4."""
