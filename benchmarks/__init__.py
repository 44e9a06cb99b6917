"""Benchmarks for `make bench`: Horizon against raw ib_async on the same simulator.

Run `python -m benchmarks` (or `--quick`); see README.md. Tests never import this package.
"""
