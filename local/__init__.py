"""Embedded defaults for a laptop or CI: embedded PostgreSQL, the simulator, the `make run` driver.

Nothing in dags/, ingest/ or expectations/ imports this package."""
