"""PlatformClient against the simulator: faults, tokens, errors, incremental pulls."""
from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter

import pytest

from ingest.platform.client import PlatformAuthError, PlatformForbidden, PlatformRequestError, PlatformUnavailable

CST = dt.timezone(dt.timedelta(hours=8))


def file_records(platform_data, resource="households"):
    path = platform_data / "platform" / f"{resource}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_survives_faults_without_loss_or_duplicates(sim_factory, client_for, platform_data):
    sim = sim_factory(rate_429=0.1, rate_5xx=0.1, rate_drop=0.08, retry_after=0, seed=42)
    client = client_for(sim, page_size=47)
    items = list(client.iter_items("households"))
    expected = file_records(platform_data)
    ids = Counter(i["household_id"] for i in items)
    assert len(items) == len(expected) == 3000
    assert ids.most_common(1)[0][1] == 1
    assert sorted(items, key=lambda r: r["household_id"]) == \
        sorted(expected, key=lambda r: r["household_id"])
    stats = sim.stats
    assert stats["status_429"] > 5 and stats["drops"] > 5
    assert sum(stats.get(f"status_{c}", 0) for c in (500, 502, 503, 504)) > 5
    assert client.retries == stats["status_429"] + stats["drops"] + sum(
        stats.get(f"status_{c}", 0) for c in (500, 502, 503, 504))


def test_retry_after_is_honoured(sim_factory, client_for):
    sim = sim_factory(fail_first_n=2, fail_status=429, retry_after=7)
    slept = []
    client = client_for(sim, sleep=slept.append)
    assert len(list(client.iter_items("incomes"))) == 40
    assert slept == [7.0, 7.0]


def test_backoff_grows_and_gives_up(sim_factory, client_for):
    sim = sim_factory(fail_first_n=100, fail_status=503)
    slept = []
    client = client_for(sim, max_retries=4, backoff_base=1, backoff_max=100, sleep=slept.append)
    with pytest.raises(PlatformUnavailable, match="连续 5 次失败"):
        list(client.iter_items("incomes"))
    assert len(slept) == 4
    for n, s in enumerate(slept):  # half fixed, half jitter
        assert 2 ** n / 2 <= s <= 2 ** n


def test_dropped_connections_only(sim_factory, client_for):
    sim = sim_factory(fail_first_n=3, fail_status="drop")
    client = client_for(sim)
    assert len(list(client.iter_items("incomes"))) == 40
    assert sim.stats["drops"] == 3 and client.retries == 3


def test_token_expiry_mid_run_refreshes(sim_factory, client_for):
    sim = sim_factory(token_ttl=0.3)
    client = client_for(sim, page_size=500)
    got = []
    for page in client.iter_pages("households"):
        got += page.items
        if page.number == 2:
            time.sleep(0.4)  # the token expires between pages
    assert len(got) == 3000
    # refreshed either early (expires_in) or on the 401; either way the run completes
    assert sim.stats["tokens_issued"] >= 2


def test_revoked_token_refreshes_once(sim_factory, client_for):
    sim = sim_factory()
    client = client_for(sim, page_size=1000)
    got = []
    for page in client.iter_pages("households"):
        got += page.items
        sim.revoke_tokens()
    assert len(got) == 3000
    assert sim.stats["tokens_issued"] == 3  # first token + one refresh after each revocation
    assert sim.stats["status_401"] == 2


def test_bad_credentials(sim, client_for):
    with pytest.raises(PlatformAuthError, match="PLATFORM_CLIENT_SECRET"):
        list(client_for(sim, secret="wrong").iter_items("households"))


def test_400_is_raised_at_once(sim, client_for):
    client = client_for(sim, page_size=5000)  # the contract allows 1..1000
    with pytest.raises(PlatformRequestError, match="HTTP 400") as err:
        list(client.iter_items("households"))
    assert err.value.status == 400 and client.retries == 0
    assert sim.stats["status_400"] == 1


def test_403_and_404(sim_factory, client_for):
    sim = sim_factory(forbidden=("alerts",))
    client = client_for(sim)
    with pytest.raises(PlatformForbidden, match="403"):
        list(client.iter_items("alerts"))
    with pytest.raises(PlatformRequestError, match="404"):
        list(client.iter_items("no_such_thing"))
    assert client.retries == 0


def test_incremental_pull_and_tombstones(sim, client_for):
    client = client_for(sim, page_size=400)
    assert len(list(client.iter_items("households"))) == 3000
    watermark = client.watermark
    assert watermark == dt.datetime(2026, 11, 28, 2, 0, tzinfo=CST)

    sim.set_now("2026-11-28T10:00:00+08:00")
    changed = dict(sim.state.get("households", "H000000"), household_size=8)
    sim.upsert("households", changed)
    sim.delete("households", "H007919")
    sim.upsert("households", {**changed, "household_id": "H999999"})  # a new household

    items = list(client.iter_items("households", updated_since=watermark))
    assert {i["household_id"]: i["is_deleted"] for i in items} == {
        "H000000": False, "H007919": True, "H999999": False}
    assert client.watermark == dt.datetime(2026, 11, 28, 10, 0, tzinfo=CST)
    # updated_since is inclusive: records stamped exactly at the watermark come again
    assert len(list(client.iter_items("households", updated_since=client.watermark))) == 3
    sim.set_now("2026-11-28T11:00:00+08:00")
    list(client.iter_items("households", updated_since=client.watermark))
    assert list(client.iter_items("households", updated_since=client.watermark)) == []


def test_record_updated_while_paging(sim_factory, client_for):
    sim = sim_factory()  # the fixed clock is later than every record in the files
    client = client_for(sim, page_size=100)
    got = []
    for page in client.iter_pages("households"):
        got += page.items
        if page.number == 1:
            served = page.items[0]["household_id"]  # already received
            pending = sim.state.records("households")[-1]["household_id"]  # not yet received
            assert pending not in {i["household_id"] for i in page.items}
            sim.upsert("households", dict(sim.state.get("households", served), phone="138"))
            sim.upsert("households", dict(sim.state.get("households", pending), phone="139"))
    counts = Counter(i["household_id"] for i in got)
    assert len(counts) == 3000
    assert counts[served] == 2 and counts[pending] == 1  # the contract allows the repeat
    latest = {}
    for item in got:  # what staging does: the later updated_at wins
        key = item["household_id"]
        if key not in latest or item["updated_at"] > latest[key]["updated_at"]:
            latest[key] = item
    assert latest[served]["phone"] == "138" and latest[pending]["phone"] == "139"


def test_overlapping_pages_lose_nothing(sim_factory, client_for):
    sim = sim_factory(rate_overlap=0.3, seed=3)
    items = list(client_for(sim, page_size=64).iter_items("households"))
    counts = Counter(i["household_id"] for i in items)
    assert len(counts) == 3000 and sim.stats["overlaps"] > 3
    assert len(items) > 3000
