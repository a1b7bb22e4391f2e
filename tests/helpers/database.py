"""Test databases: which ones, how to reach them, migrate them, make scratch ones."""

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.cli import alembic_config

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def backend_of(nodeid: str) -> str | None:
    """``sqlite`` or ``postgresql`` for a test parametrized by database, else None."""
    ids = re.search(r"\[(.*)\]$", nodeid)
    if ids is None:
        return None
    return next((part for part in ids.group(1).split("-") if part in BACKENDS), None)


def postgres_url() -> str:
    return os.environ.get("KEP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_unreachable(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or None when it answers."""
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means: not here
        problem = str(error).splitlines()[0]
        return f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {problem}"
    finally:
        engine.dispose()
    return None


def require_postgres(url: str) -> None:
    message = postgres_unreachable(url)
    if message is None:
        return
    if os.environ.get("KEP_REQUIRE_POSTGRES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    (command.downgrade if down else command.upgrade)(config, revision)


@contextlib.contextmanager
def scratch_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty database of the given kind, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('scratch')}/kep.db"
        return
    base = postgres_url()
    require_postgres(base)
    name = f"kep_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def audit_count(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.parameters: list[Any] = []  # each statement's, as the driver was given them
        self.transactions = 0  # begun inside the test's own: its savepoints

    @property
    def count(self) -> int:
        return len(self.statements)

    def __len__(self) -> int:
        return self.count
