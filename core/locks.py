"""Every PostgreSQL advisory lock key the pipeline takes, in one place.

Fixed keys are bigints of the 4242xxx range; keys for one named thing (a digest to one
recipient) are derived from its name here too, so no module picks a number of its own.
"""
from __future__ import annotations

import hashlib

SCHEMA = 4242001        # DDL of the warehouse's own tables: core/sql, raw.platform_*, raw.feed_*
ISSUE_MERGE = 4242003   # writes to dq.issue: rule merge, verification intake, escalation
PII_KEY = 4242009       # installing or rotating the ID-number hash key


def digest_send(digest_key: str, content_hash: str) -> int:
    """One digest (recipient group + run date) with one content: two hosts never send it twice."""
    return int.from_bytes(hashlib.sha256(f"{digest_key}|{content_hash}".encode()).digest()[:8], "big", signed=True)
