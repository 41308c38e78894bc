"""Tests of caches."""
