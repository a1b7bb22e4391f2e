"""Engine, session factory and the request-scoped session that owns the transaction."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import FastAPI, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """An engine with the same transactional behaviour on SQLite as on PostgreSQL.

    On SQLite, foreign keys are switched on for every connection, and SQLAlchemy
    emits ``BEGIN IMMEDIATE`` itself: a transaction takes the write lock when it
    starts, so two requests can never both read a count and then both write past
    a limit (the role ``SELECT ... FOR UPDATE`` plays on PostgreSQL).
    """
    if pool_size is not None and ":memory:" not in url:
        kwargs.update(pool_size=pool_size, max_overflow=0)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            # SQLite's own lower() folds ASCII only; text search needs every letter folded,
            # as PostgreSQL does.
            dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 10000")
            if ":memory:" not in url and "mode=memory" not in url:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def _slots(app: FastAPI) -> anyio.Semaphore:
    slots = getattr(app.state, "db_slots", None)
    if slots is None:
        slots = app.state.db_slots = anyio.Semaphore(app.state.settings.db_pool_size)
    return slots


async def _unlimited(call: Callable[[], object]) -> None:
    # Finishing a transaction must never wait for a worker thread: the threads may all
    # be busy with requests that wait for this very transaction's locks.
    await anyio.to_thread.run_sync(call, limiter=anyio.CapacityLimiter(1))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request: committed when the endpoint returns, rolled back if it raises.

    Nothing else commits. The dependency is declared with ``scope="function"`` so the
    commit happens before the answer is sent: a failed commit is the client's error.

    A request takes one of ``KEP_DB_POOL_SIZE`` slots before it may touch the database,
    and waits for it in the event loop, not in a worker thread. So a worker thread never
    waits for a pooled connection: with more requests than connections, threads blocked
    on an exhausted pool would starve the requests that hold the connections of the
    threads they need to finish.
    """
    async with _slots(request.app):
        session: Session = request.app.state.sessionmaker()
        try:
            yield session
            await _unlimited(session.commit)
        except BaseException:
            await _unlimited(session.rollback)
            raise
        finally:
            await _unlimited(session.close)
