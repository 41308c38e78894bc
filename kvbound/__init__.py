"""kvbound: the application (CLI, reports, plots) on top of proofs, reduction, lowerbound."""

__version__ = "0.1.0"
