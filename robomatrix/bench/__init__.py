"""Benchmarks: `robomatrix bench comm|sim --json`."""
