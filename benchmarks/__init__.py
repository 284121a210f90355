"""Benchmarks that print measured figures; run them with `make bench`."""
