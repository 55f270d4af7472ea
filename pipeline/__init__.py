"""Glue between the DAGs and the packages: each daily step as a plain function of a run date."""
