"""Helpers shared by tests/ and bench/: factories, live servers, per-process databases."""
