"""The whole suite runs once on SQLite and once on PostgreSQL.

Migrations are applied once per database; each test then runs inside an outer
transaction that is rolled back, with the application's sessions joined to it
through savepoints, so no test sees another's rows. Tests that need real commits
from several connections (races) use a scratch database of their own.
"""

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.cli import alembic_config
from app.clock import get_clock
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.models import Role, User

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def postgres_url() -> str:
    return os.environ.get("KEP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_reachable(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means: not here
        return str(error).splitlines()[0]
    finally:
        engine.dispose()
    return None


def require_postgres(url: str) -> None:
    problem = _postgres_reachable(url)
    if problem is None:
        return
    message = f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {problem}"
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


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/kep.db"
    url = postgres_url()
    require_postgres(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:  # start from nothing: the test database is ours
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and inspecting rows directly, inside the test's transaction."""
    with session_factory() as session:
        yield session


class MovableClock:
    """The service's clock in tests: set it or move it instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def app(
    settings: Settings, session_factory: sessionmaker[Session], clock: MovableClock
) -> Iterator[FastAPI]:
    app = create_app(settings)
    app.state.sessionmaker = session_factory
    app.dependency_overrides[get_clock] = lambda: clock
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@dataclass
class Account:
    """A user of the service as a test sees it: the row and the header to act as them."""

    user: User
    token: str
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    @property
    def id(self) -> int:
        return self.user.id


_DEFAULTS = {
    Role.secretariat: {"institution": "dg_rtd"},
    Role.member: {"member_state": "BE", "region": "Brussels-Capital Region"},
}


def add_account(
    session_factory: sessionmaker[Session],
    role: Role | str,
    name: str | None = None,
    *,
    now: datetime,
    **fields,
) -> Account:
    role = Role(role)
    name = name or f"{role.value.title()} {uuid.uuid4().hex[:6]}"
    data = UserCreate(
        name=name,
        email=f"{uuid.uuid4().hex[:10]}@example.eu",
        role=role,
        **{**_DEFAULTS.get(role, {}), **fields},
    )
    with session_factory.begin() as session:
        user = users.create_user(session=session, actor=None, data=data, now=now)
        _token, secret = users.issue_token(
            session=session, actor=user, user=user, label="test", now=now
        )
    return Account(user=user, token=secret)


@pytest.fixture
def make_account(session_factory: sessionmaker[Session], clock: MovableClock):
    def make(role: Role | str, name: str | None = None, **fields) -> Account:
        return add_account(session_factory, role, name, now=clock(), **fields)

    return make


@pytest.fixture
def admin(make_account) -> Account:
    return make_account(Role.admin, "Ada Operator")


@pytest.fixture
def dg_rtd(make_account) -> Account:
    return make_account(Role.secretariat, "Rita Research", institution="dg_rtd")


@pytest.fixture
def sedec(make_account) -> Account:
    return make_account(Role.secretariat, "Sven Sedec", institution="cor_sedec")


@pytest.fixture
def jrc(make_account) -> Account:
    return make_account(Role.secretariat, "Jana Centre", institution="jrc")


@pytest.fixture
def member(make_account) -> Account:
    return make_account(Role.member, "Maria Member", member_state="PT", region="Norte")


@pytest.fixture
def participant(make_account) -> Account:
    return make_account(Role.participant, "Paul Participant")


def audit_count(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free local port in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", limit_concurrency=500)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session", params=BACKENDS)
def race_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database whose rows are really committed, for race tests: PostgreSQL,
    where row locks hold the limits, and SQLite, where transactions take the write lock."""
    with scratch_database(request.param, tmp_path_factory) as url:
        migrate(url)
        yield url


@pytest.fixture
def race_app(race_database: str, clock: MovableClock) -> Iterator[FastAPI]:
    """The real application on ``race_database``, with its own pool and the test clock."""
    app = create_app(Settings(database_url=race_database, _env_file=None))  # type: ignore[call-arg]
    app.dependency_overrides[get_clock] = lambda: clock
    yield app
    app.state.engine.dispose()


@pytest.fixture
def race_client(race_app: FastAPI) -> Iterator[tuple[str, httpx.Client]]:
    with live_server(race_app) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield base_url, client


@pytest.fixture
def race_account(race_app: FastAPI, clock: MovableClock):
    """Accounts committed for real in ``race_database``."""

    def make(role: Role | str, name: str | None = None, **fields) -> Account:
        return add_account(race_app.state.sessionmaker, role, name, now=clock(), **fields)

    return make


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __len__(self) -> int:
        return self.count


@pytest.fixture
def count_queries(connection: Connection):
    """``with count_queries() as counter:`` counts the SQL statements the block sends."""
    from sqlalchemy import event

    @contextlib.contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(_conn, _cursor, statement, *_args) -> None:
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.statements.append(statement)

        event.listen(connection, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(connection, "before_cursor_execute", record)

    return counting
