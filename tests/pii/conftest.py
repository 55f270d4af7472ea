"""A small province run through the real steps (tests/pipeline/conftest.py's run_pipeline) into a
database of this directory's own, with a hash key of its own: the rotation test changes it."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "pipeline_fixtures", Path(__file__).resolve().parents[1] / "pipeline" / "conftest.py")
pipeline_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pipeline_fixtures)
RUN_DATE = pipeline_fixtures.RUN_DATE
FIRST_KEY = "pii-test-first-key-5f0c1d"


@pytest.fixture(scope="module")
def pii_db(pg_server_url, tmp_path_factory) -> str:
    from sim.generator import generate

    province = tmp_path_factory.mktemp("pii_province")
    generate(province, RUN_DATE, seed=11, households=200)
    url = pipeline_fixtures._new_db(pg_server_url)
    mp = pytest.MonkeyPatch()
    mp.setenv("PII_HASH_KEY", FIRST_KEY)
    try:
        pipeline_fixtures.run_pipeline(province, url, tmp_path_factory.mktemp("pii_gx"))
    finally:
        mp.undo()
    assert os.environ["PII_HASH_KEY"] != FIRST_KEY
    return url


@pytest.fixture(scope="session")
def first_key() -> str:
    return FIRST_KEY


@pytest.fixture(scope="session")
def pii_run_date():
    return RUN_DATE


@pytest.fixture(scope="session", name="pipeline_fixtures")
def pipeline_fixtures_module():
    """tests/pipeline/conftest.py as a module: run_pipeline, RUN_DATE."""
    return pipeline_fixtures
