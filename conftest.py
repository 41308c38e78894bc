"""Doctests of every package run with the zoo's resolver installed (reduction names caches
by spec and is told how to resolve them by :mod:`caches`)."""

import caches  # noqa: F401
