"""Benchmarks that run outside caseshare's own environment (see bench/peers)."""
