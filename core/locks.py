"""Every PostgreSQL advisory lock key the pipeline takes, in one place.

Fixed keys are bigints of the 4242xxx range; keys for one named thing (a digest to one
recipient) are derived from its name here too, so no module picks a number of its own.
"""
from __future__ import annotations

import hashlib

SCHEMA = 4242001        # DDL of the warehouse's own tables: core/sql, raw.platform_*, raw.feed_*
ISSUE_MERGE = 4242003   # writes to dq.issue: rule merge, verification intake, escalation
PII_KEY = 4242009       # installing or rotating the ID-number hash key


def _named(name: str, size: int = 8) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:size], "big", signed=size == 8)


def feed_folder(folder: str) -> int:
    """One loader per landing folder at a time (a session lock, held across its files)."""
    return _named(f"feed:{folder}", 4)


def platform_resource(source: str, resource: str) -> int:
    """One pull per platform resource at a time (a transaction lock, held by its batch)."""
    return _named(f"{source}:{resource}")


def digest_send(digest_key: str, content_hash: str) -> int:
    """One digest (recipient group + run date) with one content: two hosts never send it twice."""
    return _named(f"{digest_key}|{content_hash}")
