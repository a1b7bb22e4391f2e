"""The request's session: one per request, on one of the process's database slots,
committed when its endpoint has answered (in the endpoint's own trip to a worker thread,
``in_one_trip``, or by ``get_session``) and rolled back when it raises. A request waits
``KEP_DB_SLOT_TIMEOUT`` at most for a slot, then answers 503. Engines and the rules every
connection keeps are in ``app.db``."""

import functools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext, suppress
from contextvars import ContextVar
from typing import Any

import anyio
from fastapi import FastAPI, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app import metrics
from app.db import HELD, current_work, reading_only, reads_only
from app.errors import ClientGone, DatabaseBusy
from app.watchdog import Work, works_of

# The request's session, for an endpoint that ends its transaction itself (``in_one_trip``).
_request_session: ContextVar[Session | None] = ContextVar("kep_request_session", default=None)


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
        reading_token = reading_only.set(reading)
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
                reading_only.reset(reading_token)
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
        work = current_work.get()
        with work.waiting() if work else nullcontext():
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
        token = current_work.set(work)
        try:
            yield work
        finally:
            slots.release()
            metrics.DB_SLOTS_IN_USE.dec()
            with suppress(ValueError):  # finished in another context: it ends with the request
                current_work.reset(token)
    finally:
        works.discard(work)


def beside_requests(app: FastAPI) -> AbstractAsyncContextManager[Work]:
    """Database work the service does beside its requests (writing the tokens' noted
    uses), as a request's is done: on one of their slots, never a connection a request
    counts on, and seen by the watchdog, which ends it if the database stops answering."""
    return _on_a_slot(app, Work())
