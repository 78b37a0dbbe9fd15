"""Benchmarks that run Potluck the way production does (see each module's docstring)."""
