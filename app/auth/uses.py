"""Tokens' last uses noted by the requests, written together every half-minute.

Every committed change moves the state of the data that answers kept in memory are
keyed by (``app.data_state``), whatever it changed. A token's last use, written by the
read that used it, was such a change: a hundred people starting to read within the
same minute made a hundred commits, and each one dropped every answer kept by every
worker, rebuilt again by each reader. Noted here instead, the uses of all the tokens
a worker saw are written in one short transaction every ``WRITE_EVERY`` seconds, so
that the state moves at most that often for them; a change spends no statements on
it either.

What a worker has noted and not yet written is lost if the process dies: at most the
last half-minute of uses, of a value kept to the minute. Stopping writes it.
"""

import logging
import threading
from datetime import datetime

import anyio
from fastapi import FastAPI
from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import Session, sessionmaker

from app.db import request_slot
from app.models import ApiToken

log = logging.getLogger(__name__)

# Seconds between two writes of the noted uses.
WRITE_EVERY = 30.0
# Seconds the last write may take as the service stops.
LAST_WRITE_TIMEOUT = 5.0


class TokenUses:
    """The last use of each token noted since the last write, by token id. Noted from
    the worker threads that look tokens up; written from the event loop."""

    def __init__(self) -> None:
        self._noted: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self.writing = False  # whether a writer runs: until then, uses are not noted here
        self.every = WRITE_EVERY  # seconds between two writes
        self._in_hand = 0  # uses taken for the write under way

    def note(self, token_id: int, at: datetime) -> None:
        with self._lock:
            noted = self._noted.get(token_id)
            if noted is None or noted < at:
                self._noted[token_id] = at

    def latest(self, token_id: int, stored: datetime | None) -> datetime | None:
        """The token's last use: the one noted here if it is later than ``stored``."""
        noted = self._noted.get(token_id)
        if noted is None or (stored is not None and stored >= noted):
            return stored
        return noted

    def take(self) -> dict[int, datetime]:
        with self._lock:
            taken, self._noted = self._noted, {}
            self._in_hand = len(taken)
        return taken

    def written(self, taken: dict[int, datetime], *, done: bool) -> None:
        """The taken uses were written, or (not ``done``) are to be tried again."""
        with self._lock:
            self._in_hand = 0
        if not done:
            for token_id, at in taken.items():
                self.note(token_id, at)

    def settled(self) -> bool:
        """Whether every use noted so far is written."""
        with self._lock:
            return not self._noted and not self._in_hand


# A use only ever moves the stored one forward: two workers may write out of order.
_WRITE = (
    update(ApiToken)
    .where(
        ApiToken.id == bindparam("token_id"),
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < bindparam("at")),
    )
    .values(last_used_at=bindparam("at"))
)


def _write(make_session: sessionmaker[Session], uses: dict[int, datetime]) -> None:
    rows = [{"token_id": token_id, "at": at} for token_id, at in sorted(uses.items())]
    with make_session() as session, session.begin():  # rows in id order: no deadlock
        session.connection().execute(_WRITE, rows)


async def write_noted(app: FastAPI) -> None:
    """Write the uses noted so far, in one transaction on one of the requests' slots;
    on failure they are kept for the next write."""
    uses: TokenUses = app.state.token_uses
    taken = uses.take()
    if not taken:
        return
    done = False
    try:
        async with request_slot(app):
            await anyio.to_thread.run_sync(_write, app.state.sessionmaker, taken)
        done = True
    except Exception as error:
        log.warning("tokens' last uses were not written; they are tried again: %s", error)
    finally:
        uses.written(taken, done=done)


async def keep_writing(app: FastAPI) -> None:
    """Write the noted uses every few seconds until cancelled, then once more."""
    uses: TokenUses = app.state.token_uses
    uses.writing = True
    try:
        while True:
            await anyio.sleep(uses.every)
            await write_noted(app)
    finally:
        uses.writing = False
        with anyio.CancelScope(shield=True), anyio.move_on_after(LAST_WRITE_TIMEOUT):
            await write_noted(app)
