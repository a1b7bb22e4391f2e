"""The suite's own promises: PostgreSQL, when required, is never silently skipped, and the
applications that tests make do not pile up."""

import gc
import weakref

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.helpers.apps import forget_endpoints
from tests.helpers.database import require_postgres

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_an_unreachable_postgres_fails_the_run_when_required(monkeypatch):
    monkeypatch.setenv("KEP_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="unreachable"):
        require_postgres(UNREACHABLE)


def test_an_unreachable_postgres_is_skipped_otherwise(monkeypatch):
    monkeypatch.delenv("KEP_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="unreachable"):
        require_postgres(UNREACHABLE)


def test_applications_that_tests_made_are_collected_once_let_go(settings):
    # The first one a process makes may stay (what holds it is not known); the suite
    # makes a thousand more, and none of those may stay.
    made = [weakref.ref(used_and_let_go(settings)) for _ in range(3)]
    forget_endpoints()
    gc.collect()
    assert [ref() is None for ref in made[1:]] == [True, True]


def used_and_let_go(settings: Settings) -> FastAPI:
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 200  # a page whose endpoint holds its app
    app.state.engine.dispose()
    app.state.probe_engine.dispose()
    return app
