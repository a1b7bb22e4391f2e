"""The whole suite runs once on SQLite and once on PostgreSQL.

Migrations are applied once per database; each test then runs inside an outer
transaction that is rolled back, with the application's sessions joined to it
through savepoints, so no test sees another's rows. Tests that need real commits
from several connections (races) use a scratch database of their own.

Test ids say where a test runs: ``[sqlite]`` or ``[postgresql]``. When PostgreSQL cannot
be reached (and ``KEP_REQUIRE_POSTGRES=1`` does not make that a failure), its half is
skipped with one line that says why, and the summary counts each half. Where several
processes share the suite (``make test``), the PostgreSQL half runs in one of them
(``tests/helpers/scheduling.py``).
"""

import contextlib
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from xdist.remote import Producer

from app.auth.deps import get_app_settings
from app.clock import get_clock
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.models import Role
from app.notifications.sender import Sender
from tests.helpers.accounts import Account, add_account
from tests.helpers.apps import forget_endpoints
from tests.helpers.clock import MovableClock
from tests.helpers.database import (
    BACKENDS,
    QueryCounter,
    backend_of,
    migrate,
    postgres_unreachable,
    postgres_url,
    require_postgres,
    scratch_database,
)
from tests.helpers.mail import SmtpServer
from tests.helpers.scheduling import ByDatabase
from tests.helpers.server import live_server

# -- mail ----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    # No application a test makes, nor any server process it starts, sends mail on its
    # own: a sender thread would outlive the test's database. Tests that deliver mail
    # run a sender themselves. Whatever is written as files goes to a scratch folder.
    os.environ["KEP_SEND_MAIL_IN_PROCESS"] = "0"
    os.environ.setdefault("KEP_MAIL_DIR", tempfile.mkdtemp(prefix="kep-test-mail-"))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server in the test process, for a test that delivers mail."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp.url, "smtp_timeout": 5})


@pytest.fixture
def sender(
    session_factory: sessionmaker[Session], mail_settings: Settings, clock: MovableClock
) -> Sender:
    """A sender to that server; the test runs its rounds (``run_once``) itself."""
    return Sender(session_factory, mail_settings, clock=clock)


# -- which half runs where ------------------------------------------------------------

SKIPPED_POSTGRES = pytest.StashKey[str]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    required = " (required)" if os.environ.get("KEP_REQUIRE_POSTGRES") == "1" else ""
    return [
        "databases: tests ending [sqlite] run on SQLite files in a temporary folder, "
        f"tests ending [postgresql] on {postgres_url()}{required}"
    ]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> ByDatabase:
    return ByDatabase(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("KEP_REQUIRE_POSTGRES") == "1":
        return  # an unreachable PostgreSQL fails the run, in the fixtures
    on_postgres = [item for item in items if backend_of(item.nodeid) == "postgresql"]
    if not on_postgres:
        return
    problem = postgres_unreachable(postgres_url())
    if problem is None:
        return
    reason = f"{problem}; KEP_REQUIRE_POSTGRES=1 makes this a failure"
    for item in on_postgres:
        item.add_marker(pytest.mark.skip(reason=reason))
        item.stash[SKIPPED_POSTGRES] = reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and SKIPPED_POSTGRES in item.stash:
        # One place for every such skip, so that the summary says it in one line.
        report.longrepr = (__file__, None, f"Skipped: {item.stash[SKIPPED_POSTGRES]}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    halves: dict[str, Counter[str]] = {backend: Counter() for backend in BACKENDS}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            backend = backend_of(getattr(report, "nodeid", ""))
            if backend is not None and (report.when == "call" or outcome != "passed"):
                halves[backend][outcome] += 1
    said = [
        f"[{backend}] " + ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
        for backend, counts in halves.items()
        if counts
    ]
    if said:
        terminalreporter.write_line("by database: " + "; ".join(said))


# -- databases --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _let_go_of_applications() -> Iterator[None]:
    """After every test (and after its own fixtures), so that the applications it made
    can be collected: see ``forget_endpoints``."""
    yield
    forget_endpoints()


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


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, send_mail_in_process=False, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def app(
    settings: Settings, session_factory: sessionmaker[Session], clock: MovableClock
) -> Iterator[FastAPI]:
    app = create_app(settings)
    app.state.sessionmaker = session_factory
    app.state.clock = clock
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


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
    # Every race test asks from this host, in one database for the session: the limit on
    # links asked for per client is its own tests' subject (test_link_requests).
    settings = Settings(database_url=race_database, link_requests_per_hour=100_000, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings)
    app.state.clock = clock
    # Tokens' uses noted are written as the server stops: a test sees no commit of its
    # own making while it runs (one that wants them sooner makes its own application).
    app.state.token_uses.every = 3600
    yield app
    app.state.engine.dispose()


@pytest.fixture
def reached(race_app) -> list[str]:
    """The paths of the requests that reached an endpoint: every kept read asks for the
    settings or the clock (who is calling needs the clock)."""
    paths: list[str] = []

    def count(request: Request) -> None:
        if not getattr(request.state, "counted", False):
            request.state.counted = True
            paths.append(request.url.path)

    async def counted_settings(request: Request):
        count(request)
        return request.app.state.settings

    async def counted_clock(request: Request):
        count(request)
        return request.app.state.clock

    race_app.dependency_overrides[get_app_settings] = counted_settings
    race_app.dependency_overrides[get_clock] = counted_clock
    return paths


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


@pytest.fixture
def count_queries(connection: Connection):
    """``with count_queries() as counter:`` counts the SQL statements the block sends."""
    from sqlalchemy import event

    @contextlib.contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(_conn, _cursor, statement, parameters, *_args) -> None:
            counter.transactions += statement.lstrip().upper().startswith("SAVEPOINT")
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.statements.append(statement)
                counter.parameters.append(parameters)

        event.listen(connection, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(connection, "before_cursor_execute", record)

    return counting
