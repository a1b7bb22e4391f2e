"""The suite's own promise: PostgreSQL, when required, is never silently skipped."""

import pytest

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
