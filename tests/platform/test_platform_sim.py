"""The simulator follows the platform API as ingest/platform/resources.py and fields.py read it
(checked with plain requests)."""
from __future__ import annotations

import json
import time

import pytest
import requests

from sim.platform_server import main as sim_main
from sim.platform_server import start_simulator


def token(sim, secret="test-secret") -> str:
    r = requests.post(f"{sim.url}/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "demo", "client_secret": secret})
    r.raise_for_status()
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] >= 1
    return body["access_token"]


def get(sim, path, tok, **params):
    return requests.get(f"{sim.url}/api/v1/{path}", params=params,
                        headers={"Authorization": f"Bearer {tok}"})


def test_paging_order_total_and_server_time(sim, platform_data):
    tok = token(sim)
    items, cursor, totals = [], None, set()
    while True:
        params = {"page_size": 333, **({"cursor": cursor} if cursor else {})}
        body = get(sim, "households", tok, **params).json()
        assert body["server_time"] == "2026-11-28T02:00:00+08:00"
        totals.add(body["total"])
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    lines = (platform_data / "platform" / "households.jsonl").read_text().splitlines()
    assert totals == {3000} and len(items) == 3000
    keys = [(i["updated_at"], i["household_id"]) for i in items]
    assert keys == sorted(keys)
    assert {i["household_id"] for i in items} == {json.loads(x)["household_id"] for x in lines}


def test_updated_since_is_inclusive(sim):
    tok = token(sim)
    body = get(sim, "households", tok, page_size=1000,
               updated_since="2026-11-20T12:00:00+08:00").json()
    # minute 240 holds records 1680..1686; everything from there on matches
    assert body["total"] == 3000 - 1680
    assert body["items"][0]["updated_at"] == "2026-11-20T12:00:00+08:00"


@pytest.mark.parametrize("params", [{"page_size": 0}, {"page_size": 1001}, {"page_size": "x"},
                                    {"updated_since": "yesterday"}, {"cursor": "garbage!"},
                                    {"foo": "1"}])
def test_bad_parameters_are_400(sim, params):
    assert get(sim, "households", token(sim), **params).status_code == 400


def test_cursor_of_another_resource_is_400(sim):
    tok = token(sim)
    cursor = get(sim, "households", tok, page_size=1).json()["next_cursor"]
    assert get(sim, "incomes", tok, page_size=1, cursor=cursor).status_code == 400


def test_auth(sim_factory):
    sim = sim_factory(token_ttl=0.05)
    assert get(sim, "households", None).status_code == 401
    bad = requests.post(f"{sim.url}/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "demo", "client_secret": "nope"})
    assert bad.status_code == 401
    tok = token(sim)
    time.sleep(0.1)
    assert get(sim, "households", tok).status_code == 401  # expired
    sim.state.token_ttl = 3600
    tok = token(sim)
    assert get(sim, "households", tok).status_code == 200
    sim.revoke_tokens()
    assert get(sim, "households", tok).status_code == 401


def test_unknown_resource_404_and_forbidden_403(sim_factory):
    sim = sim_factory(forbidden=("alerts",))
    tok = token(sim)
    assert get(sim, "nonsense", tok).status_code == 404
    assert get(sim, "alerts", tok).status_code == 403
    assert get(sim, "alerts/", tok).status_code == 403


def test_faults_are_deterministic_from_seed(sim_factory):
    def statuses(seed):
        sim = sim_factory(seed=seed, retry_after=3)
        tok = token(sim)  # faults also hit the token endpoint: switch them on afterwards
        sim.set_faults(rate_429=0.2, rate_5xx=0.2)
        out = []
        for _ in range(40):
            r = get(sim, "households", tok, page_size=1)
            out.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["Retry-After"] == "3"
        return out

    a, b = statuses(7), statuses(7)
    assert a == b and {429, 200} <= set(a) and set(a) & {500, 502, 503, 504}
    assert statuses(8) != a


def test_fail_first_n_then_ok(sim_factory):
    sim = sim_factory(fail_first_n=2, fail_status=502)
    tok = token(sim)
    assert [get(sim, "households", tok).status_code for _ in range(3)] == [502, 502, 200]


def test_upsert_and_delete_bump_updated_at(sim):
    sim.set_now("2026-11-29T09:00:00+08:00")
    rec = dict(sim.state.get("households", "H000000"), household_size=9)
    sim.upsert("households", rec)
    sim.delete("incomes", "H000003:2025")
    tok = token(sim)
    body = get(sim, "households", tok, updated_since="2026-11-29T09:00:00+08:00").json()
    assert [(i["household_id"], i["household_size"]) for i in body["items"]] == [("H000000", 9)]
    body = get(sim, "incomes", tok, updated_since="2026-11-29T09:00:00+08:00").json()
    assert body["items"][0]["is_deleted"] is True and body["total"] == 1


def test_only_loopback(platform_data):
    with pytest.raises(ValueError):
        start_simulator(platform_data, host="0.0.0.0")


def test_missing_files_mean_empty_resources(tmp_path):
    with start_simulator(tmp_path, client_secret="s") as sim:
        tok = token(sim, "s")
        body = get(sim, "visits", tok).json()
        assert body["items"] == [] and body["total"] == 0 and body["next_cursor"] is None


def test_cli_help(capsys):
    with pytest.raises(SystemExit):
        sim_main(["--help"])
    assert "--rate-429" in capsys.readouterr().out


def test_reload_picks_up_rewritten_files(tmp_path):
    path = tmp_path / "platform" / "grids.jsonl"
    path.parent.mkdir()
    row = {"grid_id": "G1", "village_code": "341225103204", "name": "一组", "level": "组级",
           "updated_at": "2026-11-01T00:00:00+08:00", "is_deleted": False}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    with start_simulator(tmp_path, client_secret="s") as sim:
        tok = token(sim, "s")
        assert get(sim, "grids", tok).json()["total"] == 1
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({**row, "grid_id": "G2"}, ensure_ascii=False) + "\n")
        sim.reload()
        assert [i["grid_id"] for i in get(sim, "grids", tok).json()["items"]] == ["G1", "G2"]


def test_bad_data_file_fails_loudly(tmp_path):
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "visits.jsonl").write_text('{"visit_id": "V1"}\n{oops\n')
    with pytest.raises(ValueError, match="visits.jsonl:2"):
        start_simulator(tmp_path)
