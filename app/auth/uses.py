"""Tokens' last uses noted by the requests, written together every half-minute.

Every committed change moves the state of the data that answers kept in memory are
keyed by (``app.data_state``), whatever it changed. A token's last use, written by the
read that used it, was such a change: a hundred people starting to read within the
same minute made a hundred commits, and each one dropped every answer kept by every
worker, rebuilt again by each reader. Noted here instead, the uses of all the tokens
a worker saw are written in one short transaction every ``WRITE_EVERY`` seconds: each
worker moves the state at most that often for them, whoever uses the service (a token
used through two workers within a minute may be written by both). A change spends no
statement on it either.

As the service stops, what is still noted is written once the requests in flight are
done (within ``LAST_WRITE_TIMEOUT``); a request that comes after that writes its own.
What a worker has noted and not yet written is lost only if the process dies: at most
the last half-minute of uses, of a value kept to the minute.
"""

import logging
import threading
from datetime import datetime

import anyio
from fastapi import FastAPI
from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import Session, sessionmaker

from app.models import ApiToken
from app.sessions import beside_requests

log = logging.getLogger(__name__)

# Seconds between two writes of the noted uses.
WRITE_EVERY = 30.0
# Seconds the last write may take as the service stops.
LAST_WRITE_TIMEOUT = 5.0


class TokenUses:
    """The last use of each token noted and not yet written, by token id. Noted from the
    worker threads that look tokens up; written from the event loop."""

    def __init__(self) -> None:
        self._noted: dict[int, datetime] = {}
        self._in_hand: dict[int, datetime] = {}  # taken by the write under way
        self._lock = threading.Lock()
        self.writing = False  # whether a writer runs: until then, uses are not noted here
        self.every = WRITE_EVERY  # seconds between two writes

    def note(self, token_id: int, at: datetime) -> bool:
        """Note a use; False once no writer runs (the caller then writes it itself)."""
        with self._lock:
            if not self.writing:
                return False
            noted = self._noted.get(token_id)
            if noted is None or noted < at:
                self._noted[token_id] = at
            return True

    def latest(self, token_id: int, stored: datetime | None) -> datetime | None:
        """The token's last use: one noted, or being written, if later than ``stored``."""
        with self._lock:
            known = [self._noted.get(token_id), self._in_hand.get(token_id), stored]
        return max((moment for moment in known if moment is not None), default=None)

    def take(self) -> dict[int, datetime]:
        with self._lock:
            self._in_hand, self._noted = self._noted, {}
            return self._in_hand

    def written(self, *, done: bool) -> None:
        """The uses taken were written, or (not ``done``) are noted again."""
        with self._lock:
            if not done:
                for token_id, at in self._in_hand.items():
                    if token_id not in self._noted or self._noted[token_id] < at:
                        self._noted[token_id] = at
            self._in_hand = {}

    def start(self) -> None:
        """A writer runs: uses are noted here from now on."""
        with self._lock:
            self.writing = True

    def stop(self) -> None:
        """No more uses are noted here: the requests that come now write their own."""
        with self._lock:
            self.writing = False

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


async def write_noted(app: FastAPI, *, last: bool = False) -> None:
    """Write the uses noted so far, in one transaction on one of the requests' slots and
    watched as their work is; on failure they are noted again for the next write."""
    uses: TokenUses = app.state.token_uses
    taken = uses.take()
    if not taken:
        return
    done = False
    try:
        async with beside_requests(app):
            # As the service stops, a write that does not end in time is left behind.
            await anyio.to_thread.run_sync(
                _write, app.state.sessionmaker, taken, abandon_on_cancel=last
            )
        done = True
    except Exception as error:
        then = "they are lost" if last else "they are tried again"
        log.warning("tokens' last uses were not written; %s: %s", then, error)
    finally:
        uses.written(done=done)


async def keep_writing(app: FastAPI) -> None:
    """Write the noted uses every few seconds, until cancelled."""
    uses: TokenUses = app.state.token_uses
    uses.start()
    try:
        while True:
            await anyio.sleep(uses.every)
            await write_noted(app)
    finally:
        uses.stop()


async def write_last(app: FastAPI) -> None:
    """Write what is still noted as the service stops, within ``LAST_WRITE_TIMEOUT``."""
    with anyio.move_on_after(LAST_WRITE_TIMEOUT) as scope:
        await write_noted(app, last=True)
    if scope.cancelled_caught:
        log.warning("tokens' last uses were not written in time as the service stopped")
