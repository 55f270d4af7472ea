"""Runtime settings, read from the environment (never from the repo)."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
REPO_ROOT = Path(__file__).resolve().parent.parent


def today_shanghai() -> dt.date:
    return dt.datetime.now(TZ).date()


def run_date_from_env() -> dt.date:
    value = os.environ.get("RUN_DATE")
    return dt.date.fromisoformat(value) if value else today_shanghai()


def outbox_dir() -> Path:
    """Where e-mails are written: OUTBOX_DIR, default var/outbox."""
    return Path(os.environ.get("OUTBOX_DIR", REPO_ROOT / "var" / "outbox"))


@dataclass(frozen=True)
class Settings:
    warehouse_url: str
    platform_base_url: str | None
    platform_client_id: str | None
    platform_client_secret: str | None
    landing_dir: Path
    outbox_dir: Path

    @classmethod
    def from_env(cls) -> "Settings":
        url = os.environ.get("WAREHOUSE_URL")
        if not url:
            raise RuntimeError("WAREHOUSE_URL 未设置：请提供数仓 PostgreSQL 连接串 (WAREHOUSE_URL is not set)")
        var = REPO_ROOT / "var"
        return cls(
            warehouse_url=url,
            platform_base_url=os.environ.get("PLATFORM_BASE_URL"),
            platform_client_id=os.environ.get("PLATFORM_CLIENT_ID"),
            platform_client_secret=os.environ.get("PLATFORM_CLIENT_SECRET"),
            landing_dir=Path(os.environ.get("LANDING_DIR", var / "landing")),
            outbox_dir=outbox_dir(),
        )
