"""The warehouse connection (its own tables: core/schema.py)."""
from __future__ import annotations

import os

import psycopg


def warehouse_url() -> str:
    url = os.environ.get("WAREHOUSE_URL")
    if not url:
        raise RuntimeError("WAREHOUSE_URL 未设置 (WAREHOUSE_URL is not set)")
    return url


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    """Autocommit by default: loaders open one explicit transaction per batch."""
    kwargs.setdefault("autocommit", True)
    return psycopg.connect(url or warehouse_url(), **kwargs)

