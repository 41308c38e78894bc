"""Tests of kvbound."""
