"""One module per ``kvbound`` sub-command; each exposes ``register(subparsers)``."""
