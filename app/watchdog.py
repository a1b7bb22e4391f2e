"""How long a request may wait on the database, and the watchdog that holds it to that.

The server's own timeouts cannot help when the database stops answering altogether (a
network partition, a hung proxy), so a watchdog in each process interrupts any request
that has waited on the database longer than the server would have let it, and the work
of any request whose client has gone away, so that its slot is free again. Each
request's database work is a ``Work``, which the session and the engines keep current
(``app.db``).
"""

import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI

from app.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    """How long one process waits for the database. ``None``: no limit of its own."""

    connect: int = 5
    statement: float | None = None
    lock: float | None = None

    @classmethod
    def of(cls, settings: Settings) -> "Timeouts":
        return cls(
            connect=settings.db_connect_timeout,
            statement=settings.db_statement_timeout,
            lock=settings.db_lock_timeout,
        )

    @property
    def silence_limit(self) -> float | None:
        """How long a request may wait on the database before the watchdog assumes the
        database will never answer: the server would have ended the statement by then."""
        if self.statement is None:
            return None
        return self.statement + self.connect


# -- the database work of one request -----------------------------------------------------


class Work:
    """The database work of one request: the connection it holds, whether and since when
    it waits on the database, and whether its client is still there. The watchdog reads
    it from outside the request to interrupt what must not go on waiting."""

    def __init__(self, receive: Callable[[], Any] | None = None) -> None:
        self.receive = receive
        self.connection: Any = None
        self.waiting_since: float | None = None
        self.slot_wait: anyio.CancelScope | None = None
        self.slot_wait_since: float | None = None
        self.client_gone = False
        self.interrupted = False
        self._depth = 0
        self._lock = threading.Lock()

    def attach(self, connection: Any) -> None:
        with self._lock:
            self.connection = connection

    def detach(self, connection: Any) -> None:
        with self._lock:
            if self.connection is connection:
                self.connection = None

    def wait_begins(self) -> None:
        # Waits nest (a statement inside the wait for a lock): the outermost one counts.
        self._depth += 1
        if self._depth == 1:
            self.waiting_since = time.monotonic()

    def wait_ends(self) -> None:
        self._depth = max(self._depth - 1, 0)
        if self._depth == 0:
            self.waiting_since = None

    @contextmanager
    def waiting(self) -> Iterator[None]:
        self.wait_begins()
        try:
            yield
        finally:
            self.wait_ends()

    def interrupt(self, *, hard: bool) -> None:
        """End what the connection is waiting for. Called from a worker thread.

        Soft: PostgreSQL cancels the statement (the connection stays usable); hard, or
        when the cancel request gets no answer: the connection's socket is shut down, so
        the request's thread returns with an error at once and the pool drops the
        connection. SQLite statements are interrupted; its lock waits end on their own
        at their next attempt, which looks at ``interrupted``.
        """
        self.interrupted = True
        with self._lock:
            connection = self.connection
            if connection is None:
                return
            if isinstance(connection, sqlite3.Connection):
                connection.interrupt()
                return
            if not hard:
                try:
                    connection.cancel_safe(timeout=2)
                    return
                except Exception as error:  # the server does not answer: cut the line
                    log.warning("cancelling a statement failed (%s); closing its connection", error)
            _shut_down(connection)


def _shut_down(connection: Any) -> None:
    try:
        duplicate = os.dup(connection.pgconn.socket)
    except Exception:  # already closed
        return
    with socket.socket(fileno=duplicate) as sock, suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def works_of(app: FastAPI) -> set[Work]:
    works = getattr(app.state, "db_works", None)
    if works is None:
        works = app.state.db_works = set()
    return works


# -- the watchdog -------------------------------------------------------------------------

WATCH_INTERVAL = 0.25


async def _client_left(work: Work) -> bool:
    """Whether the request's client has closed the connection, without waiting."""
    if work.receive is None:
        return False
    message = None
    with anyio.CancelScope() as scope:
        scope.cancel()  # receive only what is already there
        message = await work.receive()
    return message is not None and message["type"] == "http.disconnect"


async def watchdog(app: FastAPI) -> None:
    """Interrupt, every quarter of a second, the database work that must not go on:
    that of requests whose client left, and waits longer than the database allows."""
    limit = Timeouts.of(app.state.settings).silence_limit
    interrupts = anyio.CapacityLimiter(4)
    async with anyio.create_task_group() as group:
        while True:
            await anyio.sleep(WATCH_INTERVAL)
            now = time.monotonic()
            for work in list(works_of(app)):
                if work.interrupted:
                    continue
                since = work.slot_wait_since or work.waiting_since
                if since is None or now - since < WATCH_INTERVAL:
                    continue
                if not work.client_gone and await _client_left(work):
                    work.client_gone = True
                    if work.slot_wait is not None:
                        work.slot_wait.cancel()
                    else:
                        group.start_soon(_interrupt, work, False, interrupts)
                elif limit is not None and work.waiting_since and now - work.waiting_since > limit:
                    log.warning("the database has not answered for %.0f s; interrupting", limit)
                    group.start_soon(_interrupt, work, True, interrupts)


async def _interrupt(work: Work, hard: bool, limiter: anyio.CapacityLimiter) -> None:
    await anyio.to_thread.run_sync(lambda: work.interrupt(hard=hard), limiter=limiter)


async def interrupt_all(app: FastAPI) -> None:
    """End the database work of every request still in flight: the server is stopping and
    their time is up. Their statements are cut and their transactions rolled back."""
    works = list(works_of(app))
    if works:
        log.warning(
            "stopping: interrupting %s request(s) still waiting on the database", len(works)
        )
    limiter = anyio.CapacityLimiter(8)
    async with anyio.create_task_group() as group:
        for work in works:
            if work.slot_wait is not None:
                work.slot_wait.cancel()
            group.start_soon(_interrupt, work, True, limiter)
