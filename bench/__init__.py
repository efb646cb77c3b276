"""Matchday benchmarks: `make bench` (or `python -m bench`) runs them and writes RESULTS.md."""
