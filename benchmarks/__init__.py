"""Benchmarks: scripts that print a table and save JSON under benchmarks/results/."""
