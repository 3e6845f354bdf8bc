"""Benchmarks: domvia-e2ee beside its peers and the raw primitives it is built from.

`python -m benchmarks` runs every bench_*.py here with pytest-benchmark, measures peak memory
in one subprocess per case, and writes one table (benchmarks/RESULTS.md and the README's
Performance section). Speed is reported, never asserted.
"""
