"""Benchmarks: scripts that measure, print a few lines and, last, one JSON object."""
