"""Benchmarks and the load test. Their throw-away instances sign as a made-up organisation."""
import os

os.environ.setdefault("DONOHARM_ORGANISATION", "Benchmark Organisation")
