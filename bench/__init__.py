"""Benchmarks of the engine against the seed-style training loop (see ``bench.throughput``)."""
