"""Measured benchmarks: `python -m bench hotpath|drip|sender|all` (see bench/README.md for the last figures)."""
