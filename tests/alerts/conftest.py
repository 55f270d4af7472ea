"""Alert-test fixtures live in alertdata.py (tests import its constants and helpers too)."""
from alertdata import db, routing_file, smtp_server  # noqa: F401
from robotserver import robot_server  # noqa: F401
