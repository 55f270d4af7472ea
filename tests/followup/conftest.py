"""Fixtures for the follow-up tests: a real warehouse with the dq schema and a few marts
rows (regions, visits, workers), a short-period follow-up config, a routing file."""
from followupdata import followup_config, routing_file, warehouse  # noqa: F401
