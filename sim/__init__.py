"""Simulators and synthetic data for the demo, tests and benchmarks (never imported by production code)."""
