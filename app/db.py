"""Engines, sessions, and the request-scoped session that owns the transaction.

Nothing here waits for ever. A new connection gives up after ``KEP_DB_CONNECT_TIMEOUT``;
PostgreSQL ends a statement after ``KEP_DB_STATEMENT_TIMEOUT`` and a lock wait after
``KEP_DB_LOCK_TIMEOUT`` (on SQLite the wait for the write lock has the same bound); a
request waits ``KEP_DB_SLOT_TIMEOUT`` at most for a database slot, then answers 503.
What the database may not end itself, the watchdog ends (``app.watchdog``).
"""

import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from typing import Any

import anyio
from fastapi import FastAPI, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app import metrics
from app.data_state import count_changes, is_write
from app.errors import ClientGone, DatabaseBusy
from app.watchdog import Timeouts, Work, works_of

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


_current_work: ContextVar[Work | None] = ContextVar("kep_db_work", default=None)
# The request's session, for an endpoint that ends its transaction itself (``in_one_trip``).
_request_session: ContextVar[Session | None] = ContextVar("kep_request_session", default=None)
# Set for a request that only reads (GET and HEAD, unless its endpoint says it writes):
# on SQLite its transaction begins without taking the write lock, so readers never
# queue behind each other or behind a writer (WAL lets them read beside it).
_reads_only: ContextVar[bool] = ContextVar("kep_db_reads_only", default=False)
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
    if not _reads_only.get() or session.get_bind().dialect.name != "sqlite":
        yield
        return
    session.commit()
    token = _reads_only.set(False)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _reads_only.reset(token)


def _watch_connections(engine: Engine) -> None:
    """Tell the request's ``Work`` which connection it holds and when it waits on it."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        work = _current_work.get()
        if work is not None:
            work.attach(dbapi_connection)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        work = _current_work.get()
        if work is not None:
            work.detach(dbapi_connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        work = _current_work.get()
        if work is not None:
            work.wait_begins()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_args: Any) -> None:
        work = _current_work.get()
        if work is not None:
            work.wait_ends()

    @event.listens_for(engine, "handle_error")
    def _failed(_context: Any) -> None:
        work = _current_work.get()
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
        if _reads_only.get() and is_write(statement):
            raise UndeclaredWrite(
                "a request that reads only tried to write; mark its endpoint "
                "with app.db.writes_when_read"
            )

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        if _reads_only.get():
            connection.exec_driver_sql("BEGIN")
            return
        _begin_immediate(connection, lock_wait)

    return engine


def _begin_immediate(connection: Any, lock_wait: float) -> None:
    """Take SQLite's write lock, retrying while another transaction holds it, for at most
    ``lock_wait`` seconds and only while the request still wants it."""
    deadline = time.monotonic() + lock_wait
    work = _current_work.get()
    with work.waiting() if work else _nothing():
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                locked = "locked" in str(error.orig)
                if not locked or time.monotonic() >= deadline or (work and work.interrupted):
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
        work = _current_work.get()
        if work is not None:
            work.attach(dbapi_connection)
        try:
            with work.waiting() if work else _nothing():
                cursor = dbapi_connection.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
                # The ping began a transaction: end it, so that the request begins its
                # own (or none, if it only reads) with a connection at rest.
                dbapi_connection.rollback()
        except Exception as error:  # a dead connection: the pool tries a fresh one
            raise DisconnectionError(str(error)) from error

    return engine


@contextmanager
def _nothing() -> Iterator[None]:
    yield


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


# -- the request's session ----------------------------------------------------------------


def _slots(app: FastAPI) -> anyio.Semaphore:
    slots = getattr(app.state, "db_slots", None)
    if slots is None:
        slots = app.state.db_slots = anyio.Semaphore(app.state.settings.db_pool_size)
    return slots


async def _unlimited(call: Callable[[], object]) -> None:
    # Finishing a transaction must never wait for a worker thread: the threads may all
    # be busy with requests that wait for this very transaction's locks.
    await anyio.to_thread.run_sync(call, limiter=anyio.CapacityLimiter(1))


def _read_sessionmaker(app: FastAPI) -> sessionmaker[Session]:
    """Sessions for requests that only read. On PostgreSQL they run each statement in
    autocommit: under READ COMMITTED every statement reads its own snapshot anyway, so
    the transaction around them only cost a BEGIN and a COMMIT, two round trips of the
    four a single event took. (A session bound to something other than an engine, as
    tests bind one to their transaction, is left as it is.)"""
    maker = app.state.sessionmaker
    made = getattr(app.state, "read_sessionmaker", None)
    if made is not None and made[0] is maker:
        return made[1]
    bind = maker.kw.get("bind")
    reads = maker
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        reads = sessionmaker(
            **{**maker.kw, "bind": bind.execution_options(isolation_level="AUTOCOMMIT")}
        )
    app.state.read_sessionmaker = (maker, reads)
    return reads


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        _roll_back_and_close(session)
        raise
    session.close()


def _roll_back_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def _take_slot(app: FastAPI, work: Work) -> anyio.Semaphore:
    slots = _slots(app)
    work.slot_wait_since = started = time.monotonic()
    with anyio.move_on_after(app.state.settings.db_slot_timeout) as wait:
        work.slot_wait = wait
        await slots.acquire()
    work.slot_wait = work.slot_wait_since = None
    if wait.cancelled_caught:
        if work.client_gone:
            raise ClientGone()
        metrics.DB_SLOT_TIMEOUTS.inc()
        raise DatabaseBusy(
            "Every database connection of this server is in use; try again in a few seconds"
        )
    metrics.DB_SLOT_WAIT.observe(time.monotonic() - started)
    return slots


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request: committed when the endpoint returns, rolled back if it raises.

    Nothing else commits. The dependency is declared with ``scope="function"`` so the
    commit happens before the answer is sent: a failed commit is the client's error.

    A request takes one of ``KEP_DB_POOL_SIZE`` slots before it may touch the database,
    and waits for it in the event loop, not in a worker thread. So a worker thread never
    waits for a pooled connection: with more requests than connections, threads blocked
    on an exhausted pool would starve the requests that hold the connections of the
    threads they need to finish. The wait is bounded (503), and ends when the client
    goes away.
    """
    app = request.app
    async with _on_a_slot(app, Work(request.receive)) as work:
        reading = reads_only(request)
        session: Session = (_read_sessionmaker(app) if reading else app.state.sessionmaker)()
        # What the service is configured with, for work done as the transaction ends
        # (the feeds keep each changed event's VEVENT, whose links need the address).
        session.info["settings"] = app.state.settings
        session.info[HELD] = []
        reading_token = _reads_only.set(reading)
        session_token = _request_session.set(session)
        try:
            yield session
            if session.in_transaction():
                # Committing and giving the connection back in one trip to a thread.
                with work.waiting():
                    await _unlimited(lambda: _commit_and_close(session))
            else:  # ended by its endpoint (in_one_trip), or it never touched the database
                session.close()
        except BaseException:
            # Returning the connection resets it (a rollback): watched like any wait.
            with anyio.CancelScope(shield=True), work.waiting():
                await _unlimited(lambda: _roll_back_and_close(session))
            raise
        finally:
            with suppress(ValueError):  # finished in another context: it ends with the request
                _reads_only.reset(reading_token)
            with suppress(ValueError):
                _request_session.reset(session_token)


def in_one_trip(endpoint: Callable[..., Any], check: Callable[[Any], Any]) -> Callable[..., Any]:
    """A synchronous endpoint, run in one trip to a worker thread: the endpoint, then
    ``check`` of its answer (validated and written as its response model says), then the
    end of the request's transaction, committed and its connection given back.

    FastAPI would make three trips: one for the endpoint, one for checking its answer,
    and one more for ``get_session`` to commit. Each trip hands the request from the
    event loop to a thread and back, and under load, with every thread of the process
    taking turns, the hand-overs cost a registration more than its statements did. The
    transaction ends where it ended before: after the answer is checked and written (an
    answer that cannot be given rolls the change back), before it is sent (a failed
    commit is the client's error). An endpoint that raises leaves the rollback to
    ``get_session``."""

    @functools.wraps(endpoint)
    async def run(**values: Any) -> Any:
        call = functools.partial(_answer_and_commit, endpoint, check, values)
        return await anyio.to_thread.run_sync(call)

    return run


def _answer_and_commit(
    endpoint: Callable[..., Any], check: Callable[[Any], Any], values: dict[str, Any]
) -> Any:
    answer = check(endpoint(**values))
    session = _request_session.get()
    if session is not None and session.in_transaction():
        work = _current_work.get()
        with work.waiting() if work else _nothing():
            _commit_and_close(session)
    return answer


@asynccontextmanager
async def _on_a_slot(app: FastAPI, work: Work) -> AsyncIterator[Work]:
    """``work`` on one of the requests' slots, where the watchdog sees it, until it ends."""
    works = works_of(app)
    works.add(work)
    try:
        slots = await _take_slot(app, work)
        metrics.DB_SLOTS_IN_USE.inc()
        token = _current_work.set(work)
        try:
            yield work
        finally:
            slots.release()
            metrics.DB_SLOTS_IN_USE.dec()
            with suppress(ValueError):  # finished in another context: it ends with the request
                _current_work.reset(token)
    finally:
        works.discard(work)


def beside_requests(app: FastAPI) -> AbstractAsyncContextManager[Work]:
    """Database work the service does beside its requests (writing the tokens' noted
    uses), as a request's is done: on one of their slots, never a connection a request
    counts on, and seen by the watchdog, which ends it if the database stops answering."""
    return _on_a_slot(app, Work())
