"""The state of the data, as the database reports it: what answers kept in memory are
keyed by (``app.common.http.kept_json``).

A state is a value that every change committed since, by any process, moves. On
PostgreSQL it is the snapshot of the statement that reads it (which transactions it
sees as done); on SQLite a connection's ``data_version``, which moves with every change
another connection commits. It is read before the data it stands for, so that the data
may be newer than the state, never older.

The service's requests read committed data, so one shared connection reads the state
for all of them (on PostgreSQL an asynchronous one, read on the event loop), and
requests that ask at the same moment share one read: each read begins after every
request it answers had asked (a request never gets a state older than its own
arrival, so a client always reads its own finished changes). A session
bound to one connection, as the tests bind theirs, reads its own uncommitted work; its
state is read on that connection, where neither PostgreSQL's snapshot nor SQLite's
``data_version`` moves with the connection's own changes inside its transaction, so
each connection also counts its changes and rollbacks (a rollback brings back data
that a state read during the change did not show).
"""

import asyncio
import itertools
from collections.abc import Hashable
from typing import Any

import anyio
import psycopg
from fastapi import Request
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.errors import DatabaseBusy

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
POSTGRES_STATE = "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text"
SQLITE_STATE = "PRAGMA data_version"
# Seconds to wait for a new connection for the reads of the state, as for /health's.
PROBE_CONNECT_TIMEOUT = 2


def is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


# -- a connection's own changes ------------------------------------------------------------

_serials = itertools.count(1)


def _wrote(info: dict[str, Any]) -> None:
    info["kep_changes"] = info.get("kep_changes", 0) + 1
    info["kep_unfinished"] = True


def _undone(info: dict[str, Any], *, whole: bool) -> None:
    """A rollback: a change only if something was written since the last commit."""
    if info.get("kep_unfinished"):
        info["kep_changes"] = info.get("kep_changes", 0) + 1
        info["kep_unfinished"] = not whole  # after a savepoint, earlier writes remain


def count_changes(engine: Engine) -> None:
    """Number every connection of ``engine`` and count its changes and rollbacks."""

    @event.listens_for(engine, "connect")
    def _number(_dbapi_connection: Any, record: Any) -> None:
        record.info["kep_serial"] = next(_serials)

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if is_write(statement):
            _wrote(connection.info)
        elif statement.lstrip()[:8].upper() == "ROLLBACK":
            _undone(connection.info, whole=False)

    @event.listens_for(engine, "commit")
    def _commit(connection: Any) -> None:
        connection.info["kep_unfinished"] = False

    # A connection that failed is thrown away (its successor has a serial of its own),
    # and asking for its ``info`` would try to reconnect.
    @event.listens_for(engine, "rollback")
    def _rollback(connection: Any) -> None:
        if not connection.invalidated:
            _undone(connection.info, whole=True)

    @event.listens_for(engine, "rollback_savepoint")
    def _rollback_savepoint(connection: Any, *_args: Any) -> None:
        if not connection.invalidated:
            _undone(connection.info, whole=False)

    @event.listens_for(engine, "reset")  # the pool rolls back what is given back to it
    def _reset(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        _undone(record.info, whole=True)


def data_state(session: Session) -> Hashable:
    """The state of the data this session reads now, read on its own connection: one
    statement that reads no table."""
    connection = session.connection()
    own = connection.info.get("kep_changes", 0)
    if connection.dialect.name == "postgresql":
        snapshot, transaction = connection.exec_driver_sql(POSTGRES_STATE).one()
        # Outside a transaction that has written, the snapshot is everything.
        return snapshot if transaction is None else (snapshot, transaction, own)
    version = connection.exec_driver_sql(SQLITE_STATE).scalar()
    return (connection.info.get("kep_serial"), version, own)


# -- one read for the requests that ask at once ---------------------------------------------


def _committed_state(engine: Engine) -> Hashable:
    """The state of the committed data, on a connection of ``engine`` outside any
    transaction (so that on SQLite it asks for no lock). The driver's errors come as
    SQLAlchemy's, as they do from every other statement: a 503."""
    failure = engine.dialect.loaded_dbapi.Error
    postgres = engine.dialect.name == "postgresql"
    statement = POSTGRES_STATE if postgres else SQLITE_STATE
    try:
        connection = engine.raw_connection()
    except failure as error:
        raise OperationalError(statement, None, error) from error
    try:
        if postgres:
            connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        cursor.execute(statement)
        found = _first(cursor)
        cursor.close()
        if not postgres:  # the value is the connection's own: it goes with its number
            found = (connection.info["kep_serial"], found)
    except failure as error:
        connection.invalidate()  # the server may have closed it: never kept again
        raise OperationalError(statement, None, error) from error
    finally:
        connection.close()
    return found


def _first(cursor: Any) -> Any:
    row = cursor.fetchone()
    return row[0]


class _Round:
    def __init__(self) -> None:
        self.done = anyio.Event()
        self.state: Hashable = None
        self.error: BaseException | None = None


class _PostgresStates:
    """The committed data's state read on the event loop, on an asynchronous connection
    of its own: no worker thread to hop to and back. A connection that fails, or whose
    read is cut off, is closed at once and a new one made for the next read; one made
    in another event loop (a test's) is closed and replaced."""

    def __init__(self, engine: Engine) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def read(self) -> Hashable:
        loop = asyncio.get_running_loop()
        try:
            if self._connection is None or self._loop is not loop:
                self.close()
                self._connection = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=PROBE_CONNECT_TIMEOUT
                )
                self._loop = loop
            cursor = await self._connection.execute(POSTGRES_STATE)
            row = await cursor.fetchone()
        except BaseException as error:
            self.close()  # the server may have closed it, or the read was cut off
            if isinstance(error, psycopg.Error):
                raise OperationalError(POSTGRES_STATE, None, error) from error
            raise
        assert row is not None
        return row[0]

    def close(self) -> None:
        """Closes the connection without waiting for the server."""
        if self._connection is not None:
            self._connection.pgconn.finish()
            self._connection = None


class SharedStates:
    """Reads of the committed data's state, one at a time, each shared by every request
    that asked while the one before it was under way."""

    def __init__(self, engine: Engine, timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout
        self._one_at_a_time = anyio.Lock()
        self._next: _Round | None = None  # not begun yet: requests that ask now join it
        postgres = engine is not None and engine.dialect.name == "postgresql"
        self._postgres = _PostgresStates(engine) if postgres else None

    async def _read_state(self) -> Hashable:
        if self._postgres is not None:
            return await self._postgres.read()
        return await anyio.to_thread.run_sync(_committed_state, self.engine, abandon_on_cancel=True)

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.close()

    async def read(self) -> Hashable:
        joined = self._next
        if joined is None:
            joined = self._next = _Round()
            # Shielded and bounded: the requests that join it wait for it.
            with anyio.CancelScope(shield=True):
                async with self._one_at_a_time:
                    self._next = None  # it begins: who asks from now on waits for the next
                    await self._run(joined)
        await joined.done.wait()
        if joined.error is not None:
            raise joined.error
        return joined.state

    async def _run(self, round_: _Round) -> None:
        try:
            with anyio.fail_after(self.timeout):
                round_.state = await self._read_state()
        except TimeoutError:
            round_.error = DatabaseBusy("The database did not answer in time; try again later")
        except Exception as error:
            round_.error = error
        finally:
            round_.done.set()


def shares_states(app: Any) -> bool:
    """Whether the application's requests read committed data, and so share the reads of
    its state: sessions on the service's own engine, not bound to one connection (as
    the tests bind theirs)."""
    return isinstance(app.state.sessionmaker.kw.get("bind"), Engine)


# Where a request keeps the state it read, or the failure to read it.
STATE = "kep_data_state"
STATE_FAILURE = "kep_data_state_failure"


async def current_state(request: Request, session: Session) -> Hashable:
    """The state of the data the request's session reads, read once per request, before
    any of that data (who is calling, then the answer)."""
    known: Hashable = getattr(request.state, STATE, None)
    if known is not None:
        return known
    failure: BaseException | None = getattr(request.state, STATE_FAILURE, None)
    if failure is not None:
        raise failure
    if shares_states(request.app):
        shared: SharedStates = request.app.state.data_states
        state = await shared.read()
    else:
        state = await anyio.to_thread.run_sync(data_state, session)
    setattr(request.state, STATE, state)
    return state
