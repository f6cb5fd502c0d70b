"""Benchmarks (``python -m bench.app`` for the session service)."""
