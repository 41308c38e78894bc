"""Tests of lowerbound."""
