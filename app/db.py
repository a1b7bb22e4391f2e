"""Engines, the rules every connection keeps, and the context they read: the request's
database work and whether the request only reads (``app.sessions`` sets both).

Nothing here waits for ever. A new connection gives up after ``KEP_DB_CONNECT_TIMEOUT``;
PostgreSQL ends a statement after ``KEP_DB_STATEMENT_TIMEOUT`` and a lock wait after
``KEP_DB_LOCK_TIMEOUT`` (on SQLite the wait for the write lock has the same bound).
What the database may not end itself, the watchdog ends (``app.watchdog``).
"""

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app import metrics
from app.data_state import count_changes, is_write
from app.watchdog import Timeouts, Work

log = logging.getLogger(__name__)

# SQLite retries a locked database for this long within one statement. The wait for the
# write lock itself (BEGIN IMMEDIATE) is a loop of such attempts, so that it can be
# bounded and interrupted; SQLite's own busy wait cannot be interrupted.
SQLITE_BUSY_MS = 250
# How long a command (migrate, create-user, demo) waits for the write lock or a row lock
# when no request is waiting for it: another process may be migrating.
TOOL_LOCK_WAIT = 600.0
# A pooled PostgreSQL connection idle for longer than this is pinged before it is used.
PING_AFTER_IDLE = 2.0


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


# The request's database work (``app.sessions`` sets it for each request), which the
# engines' listeners keep told of the connection it holds and when it waits.
current_work: ContextVar[Work | None] = ContextVar("kep_db_work", default=None)
# Set for a request that only reads (GET and HEAD, unless its endpoint says it writes):
# on SQLite its transaction begins without taking the write lock, so readers never
# queue behind each other or behind a writer (WAL lets them read beside it).
reading_only: ContextVar[bool] = ContextVar("kep_db_reads_only", default=False)
READING_METHODS = frozenset({"GET", "HEAD"})


def writes_when_read(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a GET endpoint that writes as it answers (a cache kept in the database):
    its SQLite transaction takes the write lock at the start, as every change's does."""
    endpoint.__kep_writes__ = True  # type: ignore[attr-defined]
    return endpoint


def reads_only(request: Request) -> bool:
    endpoint = request.scope.get("endpoint")
    return request.method in READING_METHODS and not getattr(endpoint, "__kep_writes__", False)


class UndeclaredWrite(RuntimeError):
    """A request that was to read only tried to write (see ``writes_when_read``)."""


@contextmanager
def writing(session: Session) -> Iterator[None]:
    """Write within a request that otherwise only reads (bookkeeping such as a token's
    last use). On SQLite the read transaction is ended (it wrote nothing), the block
    runs in a transaction of its own that takes the write lock and is committed at
    once, and reading goes on in a new transaction. Elsewhere it changes nothing."""
    if not reading_only.get() or session.get_bind().dialect.name != "sqlite":
        yield
        return
    session.commit()
    token = reading_only.set(False)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        reading_only.reset(token)


def _watch_connections(engine: Engine) -> None:
    """Tell the request's ``Work`` which connection it holds and when it waits on it."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        work = current_work.get()
        if work is not None:
            work.attach(dbapi_connection)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        work = current_work.get()
        if work is not None:
            work.detach(dbapi_connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        work = current_work.get()
        if work is not None:
            work.wait_begins()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_args: Any) -> None:
        work = current_work.get()
        if work is not None:
            work.wait_ends()

    @event.listens_for(engine, "handle_error")
    def _failed(_context: Any) -> None:
        work = current_work.get()
        if work is not None:
            work.wait_ends()


# -- engines ----------------------------------------------------------------------------


def make_engine(
    url: str,
    pool_size: int | None = None,
    timeouts: Timeouts | None = None,
    *,
    null_pool: bool = False,
    **kwargs: Any,
) -> Engine:
    """An engine with the same transactional behaviour on SQLite as on PostgreSQL.

    On SQLite, foreign keys are switched on for every connection, and a transaction that
    may write takes the write lock when it starts (``BEGIN IMMEDIATE``), so two requests
    can never both read a count and then both write past a limit (the role ``SELECT ...
    FOR UPDATE`` plays on PostgreSQL). A request that only reads begins a plain
    (deferred) transaction instead: in WAL mode it reads a consistent snapshot beside
    the writer and waits for nobody. Without ``timeouts`` (commands, migrations, tests)
    statements have no time limit and lock waits are long.
    """
    timeouts = timeouts or Timeouts()
    if null_pool:
        kwargs["poolclass"] = NullPool
    elif pool_size is not None and ":memory:" not in url:
        kwargs.update(pool_size=pool_size, max_overflow=0)
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, timeouts, **kwargs)
    else:
        engine = _postgres_engine(url, timeouts, **kwargs)
    _watch_connections(engine)
    count_changes(engine)
    return engine


def _sqlite_engine(url: str, timeouts: Timeouts, **kwargs: Any) -> Engine:
    kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
    kwargs["connect_args"].setdefault("timeout", SQLITE_BUSY_MS / 1000)
    engine = create_engine(url, **kwargs)
    lock_wait = timeouts.lock if timeouts.lock is not None else TOOL_LOCK_WAIT

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds ASCII only; text search needs every letter folded,
        # as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        if ":memory:" not in url and "mode=memory" not in url:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _no_write_in_reads(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # A write in a transaction begun without the write lock could fail half way
        # (another writer came first): every GET that writes must say so.
        if reading_only.get() and is_write(statement):
            raise UndeclaredWrite(
                "a request that reads only tried to write; mark its endpoint "
                "with app.db.writes_when_read"
            )

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        if reading_only.get():
            connection.exec_driver_sql("BEGIN")
            return
        _begin_immediate(connection, lock_wait)

    return engine


def _begin_immediate(connection: Any, lock_wait: float) -> None:
    """Take SQLite's write lock, retrying while another transaction holds it, for at most
    ``lock_wait`` seconds and only while the request still wants it."""
    started = time.monotonic()
    work = current_work.get()
    with work.waiting() if work else nullcontext():
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig):
                    raise
                waited = time.monotonic() - started
                if work and work.interrupted:
                    why = "its client left" if work.client_gone else "it was interrupted"
                elif waited >= lock_wait:
                    why = f"the limit is {lock_wait:g} s"
                else:
                    continue
                log.warning("gave up waiting for SQLite's write lock after %.1f s: %s", waited, why)
                raise


def _postgres_engine(url: str, timeouts: Timeouts, **kwargs: Any) -> Engine:
    options = []
    if timeouts.statement is not None:
        options.append(f"-c statement_timeout={math.ceil(timeouts.statement * 1000)}")
    if timeouts.lock is not None:
        options.append(f"-c lock_timeout={math.ceil(timeouts.lock * 1000)}")
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("connect_timeout", timeouts.connect)
    connect_args.setdefault("application_name", "kep")
    if options:
        connect_args.setdefault("options", " ".join(options))
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["kep_last_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # The pool's own pre-ping runs before the request's Work knows the connection,
        # where nothing could interrupt it; this one runs after (listeners run in order).
        # A connection given back moments ago is not pinged: a round trip per request
        # for nothing. One that sat idle may have been closed by the server (a restart,
        # an idle timeout) and is tried first.
        last_used = record.info.get("kep_last_used")
        if last_used is not None and time.monotonic() - last_used < PING_AFTER_IDLE:
            return
        work = current_work.get()
        if work is not None:
            work.attach(dbapi_connection)
        try:
            with work.waiting() if work else nullcontext():
                cursor = dbapi_connection.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
                # The ping began a transaction: end it, so that the request begins its
                # own (or none, if it only reads) with a connection at rest.
                dbapi_connection.rollback()
        except Exception as error:  # a dead connection: the pool tries a fresh one
            raise DisconnectionError(str(error)) from error

    return engine


def count_connections(engine: Engine) -> None:
    """Keep the metrics' count of the pool's connections in use."""
    event.listen(engine, "checkout", lambda *_: metrics.DB_CONNECTIONS_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: metrics.DB_CONNECTIONS_IN_USE.dec())


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


# The objects a request's session loads or adds, held until the request ends. The
# identity map holds them weakly: an object the code that loaded it has let go of (the
# event a registration was checked against) would be loaded again when a relationship
# asks for it (the registration's answer, its mail as the transaction commits).
HELD = "kep_held_objects"


@event.listens_for(Session, "loaded_as_persistent")
@event.listens_for(Session, "pending_to_persistent")
@event.listens_for(Session, "detached_to_persistent")
def _hold(session: Session, instance: object) -> None:
    held = session.info.get(HELD)
    if held is not None:
        held.append(instance)
