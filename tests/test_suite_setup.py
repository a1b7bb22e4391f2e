"""The suite's own promises: PostgreSQL, when required, is never silently skipped, the
applications that tests make do not pile up, and processes that share the suite keep the
PostgreSQL half in one of them."""

import gc
import re
import weakref
from collections import defaultdict

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.helpers.apps import forget_endpoints
from tests.helpers.database import require_postgres, scratch_database
from tests.helpers.processes import run_pytest
from tests.helpers.scheduling import share_of

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


# It writes on the PostgreSQL server, so it runs with that half (see tests/helpers/scheduling.py).
@pytest.mark.parametrize("backend", ["postgresql"])
def test_processes_that_share_the_suite_keep_postgresql_in_one_and_files_whole(
    backend, tmp_path_factory
):
    files = ["tests/test_health.py", "tests/test_feed_text.py", "tests/test_config.py"]
    with scratch_database(backend, tmp_path_factory) as url:
        result = run_pytest(
            "-n", "3", "-v", *files, env={"KEP_TEST_POSTGRES_URL": url, "KEP_REQUIRE_POSTGRES": "1"}
        )
    assert result.returncode == 0, result.stdout[-3000:]
    where: dict[str, set[str]] = defaultdict(set)
    for process, test in re.findall(r"^\[(gw\d)\] \[ *\d+%\] PASSED (\S+)", result.stdout, re.M):
        where[share_of(test)].add(process)
    assert set(where) == {"postgresql", *files}, result.stdout[-3000:]
    assert all(len(processes) == 1 for processes in where.values()), dict(where)
    assert len(set().union(*where.values())) > 1, dict(where)  # it was shared at all
    assert "by database: [sqlite] 7 passed; [postgresql] 7 passed" in result.stdout
