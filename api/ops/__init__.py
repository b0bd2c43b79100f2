"""Tooling for running citygrid locally (a PostgreSQL cluster): used by the CLI, tests and benchmarks, not domain code."""
