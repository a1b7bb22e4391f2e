"""The sender: delivers the outbox over SMTP (or into a folder of .eml files), retrying
with growing back-off, and fires the time-based notices.

A message is claimed for a while before it is sent (``claimed_by``, ``claimed_until``),
in a short transaction: on PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED``, so that
two senders never claim the same message; on SQLite every transaction takes the write
lock, which serialises claims. The mail server is spoken to outside any transaction, so
a slow or absent server never holds a lock that requests wait for. The message is then
marked sent (with the others of its round, in one transaction: ``SentMarks``), or put
back with a later attempt, or marked failed after ``KEP_MAIL_MAX_ATTEMPTS``. A sender
that dies between handing messages to the server and marking them sent is the one case
in which a message can go out twice: when the claim expires, another sender tries it
again, with the same ``Message-ID``.
"""

import logging
import smtplib
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import disabling
from app.clock import Clock, system_clock
from app.config import Settings
from app.models import MessageStatus, OutboxMessage
from app.notifications import notices, preferences
from app.notifications.mail import MESSAGE_REFUSED, Transport, mime, refused_for_good, transport_for

log = logging.getLogger(__name__)

# How long a claim lasts at least: far longer than one delivery may take.
CLAIM = timedelta(minutes=10)
# What one delivery may take at most, in SMTP timeouts (connecting, then each command of
# the conversation may wait that long). A sender sends a claimed message only while its
# claim has that long to run, and gives the rest back; a claim lasts at least twice it.
DELIVERY_TIMEOUTS = 4
# Messages claimed at once.
BATCH = 50
# The longest wait between two attempts.
LONGEST_WAIT = timedelta(hours=6)
# Sent messages are marked together once the first of them has waited this long, as the
# next one goes (and as the round ends).
MARK_WITHIN = timedelta(seconds=1)
# How long stopping waits for a delivery in progress; a message cut off is sent again
# once its claim expires.
STOP_WAIT = 3


# -- claiming and marking ----------------------------------------------------------------


def wait_after(attempts: int, settings: Settings) -> timedelta:
    """The wait before the next attempt: doubling from KEP_MAIL_RETRY_SECONDS."""
    wait = timedelta(seconds=settings.mail_retry_seconds) * (2 ** min(attempts - 1, 20))
    return min(wait, LONGEST_WAIT)


@lru_cache(maxsize=1)
def _claim_statement() -> Any:
    """Claim the due messages no other sender holds, oldest first, in one statement that
    answers them."""
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == MessageStatus.pending,
            OutboxMessage.next_attempt_at <= bindparam("now"),
            or_(
                OutboxMessage.claimed_until.is_(None),
                OutboxMessage.claimed_until <= bindparam("now"),
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(bindparam("batch"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(
            claimed_by=bindparam("worker"),
            claimed_until=bindparam("until"),
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )


def longest_delivery(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.smtp_timeout) * DELIVERY_TIMEOUTS


def claim(
    sessions: sessionmaker[Session], worker: str, now: datetime, until: datetime
) -> list[OutboxMessage]:
    """Claim the due messages no other sender holds, oldest first, until ``until``."""
    values = {"now": now, "worker": worker, "until": until, "batch": BATCH}
    with sessions.begin() as session:
        rows = list(session.scalars(_claim_statement(), values))
        session.expunge_all()
    return sorted(rows, key=lambda row: row.id)


@lru_cache(maxsize=1)
def _mark_statement() -> Any:
    """A claimed message's new state (the values given), if this sender still holds it;
    on the session's connection, without the ORM's bookkeeping: once per message, or
    once for many (one set of values each)."""
    return update(OutboxMessage).where(
        OutboxMessage.id == bindparam("outbox_id"),
        OutboxMessage.claimed_by == bindparam("worker"),
    )


@lru_cache(maxsize=1)
def _release_statement() -> Any:
    """Claimed messages given back untried: their claim, and the attempt it counted."""
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(bindparam("outbox_ids", expanding=True)),
            OutboxMessage.claimed_by == bindparam("worker"),
        )
        .values(claimed_by=None, claimed_until=None, attempts=OutboxMessage.attempts - 1)
    )


def _release(sessions: sessionmaker[Session], messages: list[OutboxMessage], worker: str) -> None:
    with sessions.begin() as session:
        ids = [message.id for message in messages]
        session.connection().execute(_release_statement(), {"outbox_ids": ids, "worker": worker})


def _mark_each(sessions: sessionmaker[Session], values: list[dict[str, object]]) -> None:
    """Claimed messages' new states (the same columns for each), in one transaction."""
    if values:
        with sessions.begin() as session:
            session.connection().execute(_mark_statement(), values)


def _mark(
    sessions: sessionmaker[Session], message: OutboxMessage, worker: str, **values: object
) -> None:
    _mark_each(sessions, [{"outbox_id": message.id, "worker": worker, **values}])


class SentMarks:
    """The messages handed to the mail server and not yet marked sent, marked together in
    one transaction: when the round ends or fails, and, once the first of them has
    waited ``MARK_WITHIN``, as the next one goes (a message waits at most that and one
    delivery). A transaction per message cost PostgreSQL and the sender more than the
    rest of the message's delivery. A sender that dies, or cannot write its marks, with
    marks unwritten sends those messages again once their claim expires (with the same
    Message-ID), as it did the one message it was handing over."""

    def __init__(self, sessions: sessionmaker[Session], worker: str, clock: Clock) -> None:
        self.sessions, self.worker, self.clock = sessions, worker, clock
        self.marks: list[dict[str, object]] = []
        self.first: datetime | None = None

    def add(self, message: OutboxMessage) -> None:
        now = self.clock()
        self.first = self.first or now
        self.marks.append(
            {
                "outbox_id": message.id,
                "worker": self.worker,
                "status": MessageStatus.sent,
                "sent_at": now,
                "secret": None,  # the link has gone out: the outbox forgets it
                "claimed_by": None,
                "claimed_until": None,
            }
        )
        if now - self.first >= MARK_WITHIN:
            self.write()

    def write(self) -> None:
        _mark_each(self.sessions, self.marks)
        self.marks, self.first = [], None


def _mark_changed(
    sessions: sessionmaker[Session], changes: Mapping[int, Mapping[str, object]], worker: str
) -> None:
    """Claimed messages' changes (the same columns for each), by id, in one transaction."""
    _mark_each(
        sessions,
        [{"outbox_id": id_, "worker": worker, **changed} for id_, changed in changes.items()],
    )


def _rewrite(
    sessions: sessionmaker[Session],
    messages: list[OutboxMessage],
    rewritten: dict[int, tuple[str, str]],
    worker: str,
) -> None:
    """Notices written again as what they tell of now stands: sent so, and kept so."""
    for message in messages:
        if message.id in rewritten:
            message.subject, message.body = rewritten[message.id]
    changes = {
        id_: {"subject": subject, "body": body} for id_, (subject, body) in rewritten.items()
    }
    _mark_changed(sessions, changes, worker)


def _withdrawn(
    sessions: sessionmaker[Session],
    messages: list[OutboxMessage],
    reasons: dict[int, str],
    worker: str,
) -> None:
    """Messages that no longer hold, or are no longer wanted, by id: not sent, together."""
    withdrawn = {
        "status": MessageStatus.withdrawn,
        "claimed_by": None,
        "claimed_until": None,
    }
    changes = {
        id_: {**withdrawn, "last_error": f"No longer holds: {reason}"}
        for id_, reason in reasons.items()
    }
    _mark_changed(sessions, changes, worker)
    for message in messages:
        if message.id in reasons:
            log.info("message %s (%s) withdrawn: %s", message.id, message.kind, reasons[message.id])


def _failed(
    sessions: sessionmaker[Session],
    message: OutboxMessage,
    worker: str,
    error: str,
    *,
    settings: Settings,
    now: datetime,
    for_good: bool = False,
) -> None:
    final = for_good or message.attempts >= settings.mail_max_attempts
    values: dict[str, object] = {
        "last_error": error[:2000],
        "claimed_by": None,
        "claimed_until": None,
    }
    if final:
        values.update(status=MessageStatus.failed, secret=None)
    else:
        values.update(next_attempt_at=now + wait_after(message.attempts, settings))
    _mark(sessions, message, worker, **values)
    log.warning(
        "message %s (%s) not delivered, attempt %s%s: %s",
        message.id,
        message.kind,
        message.attempts,
        " (given up)" if final else "",
        error,
    )


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text}"


@dataclass(frozen=True, slots=True)
class Delivered:
    sent: int = 0
    failed: int = 0
    left: int = 0  # claimed, then given back untried
    withdrawn: int = 0  # no longer true by this attempt: not sent


def _looked_over(
    session: Session, messages: list[OutboxMessage], settings: Settings, now: datetime
) -> tuple[dict[int, str], dict[int, str], dict[int, tuple[str, str]]]:
    """What a round learns of its messages before they go, by id: the unsubscribe codes
    of the optional ones; why those that waited for the mail server no longer hold, or
    are no longer wanted; and the notices written again as what they tell of now
    stands."""
    codes = {
        message.id: preferences.unsubscribe_code(session, message.user_id, message.kind)
        for message in messages
        if message.optional and message.user_id is not None
    }
    optional = {(m.user_id, m.kind) for m in messages if m.optional and m.user_id is not None}
    unwanted = preferences.turned_off(session, optional)
    untrue = {
        message.id: reason
        for message in messages
        if (reason := notices.no_longer_holds(session, message, now)) is not None
    }
    untrue |= notices.outranked(session, messages)
    untrue |= {
        message.id: "the person turned this kind of mail off"
        for message in messages
        if (message.user_id, message.kind) in unwanted
    }
    disabled = disabling.disabled_among(session, {m.user_id for m in messages if m.user_id})
    untrue |= {m.id: disabling.REASON for m in messages if m.user_id in disabled}
    rewritten = {
        message.id: written
        for message in messages
        if message.id not in untrue
        and (written := notices.as_it_now_stands(session, message, settings)) is not None
    }
    return codes, untrue, rewritten


def deliver_due(
    sessions: sessionmaker[Session],
    transport: Transport,
    *,
    settings: Settings,
    clock: Clock,
    worker: str,
) -> Delivered:
    """Claim and deliver one batch of due messages. A message is sent only while the
    claim has a whole delivery to run, so that no other sender can have claimed it by
    the time it goes; what a slow mail server leaves untried is given back."""
    now = clock()
    longest = longest_delivery(settings)
    held_until = now + max(CLAIM, 2 * longest)
    messages = claim(sessions, worker, now, held_until)
    if not messages:
        return Delivered()
    with sessions() as session:
        codes, untrue, rewritten = _looked_over(session, messages, settings, now)
    _withdrawn(sessions, messages, untrue, worker)
    messages = [message for message in messages if message.id not in untrue]
    _rewrite(sessions, messages, rewritten, worker)
    sent = failed = 0
    marks = SentMarks(sessions, worker, clock)
    try:
        with transport.connection() as send:
            for number, message in enumerate(messages):
                if clock() + longest >= held_until:
                    _release(sessions, messages[number:], worker)
                    left = len(messages) - number
                    return Delivered(sent, failed, left=left, withdrawn=len(untrue))
                code = codes.get(message.id)
                unsubscribe = preferences.unsubscribe_url(settings.base_url, code) if code else None
                try:
                    send(mime(message, settings=settings, now=clock(), unsubscribe=unsubscribe))
                except MESSAGE_REFUSED as error:  # this message only; the next may go
                    _failed(
                        sessions,
                        message,
                        worker,
                        _describe(error),
                        settings=settings,
                        now=clock(),
                        for_good=refused_for_good(error),
                    )
                    failed += 1
                    continue
                marks.add(message)
                sent += 1
    except (smtplib.SMTPException, OSError) as error:
        for message in messages[sent + failed :]:
            _failed(sessions, message, worker, _describe(error), settings=settings, now=clock())
            failed += 1
    finally:
        marks.write()
    return Delivered(sent=sent, failed=failed, withdrawn=len(untrue))


# -- the loop ------------------------------------------------------------------------------


class Sender:
    """Delivers the outbox and fires the notices, every ``KEP_MAIL_POLL_SECONDS``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        transport: Transport | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.transport = transport or transport_for(settings)
        self.clock = clock
        self.worker = str(uuid.uuid4())
        self.stopping = threading.Event()

    def run_once(self) -> Delivered:
        """Fire the due notices, then deliver until nothing is due."""
        notices.fire_due(self.sessions, settings=self.settings, now=self.clock())
        total = Delivered()
        while not self.stopping.is_set():
            batch = deliver_due(
                self.sessions,
                self.transport,
                settings=self.settings,
                clock=self.clock,
                worker=self.worker,
            )
            total = Delivered(total.sent + batch.sent, total.failed + batch.failed)
            if batch.sent + batch.failed + batch.left + batch.withdrawn < BATCH:
                break
        return total

    @property
    def where(self) -> str:
        settings = self.settings
        return "the mail server in KEP_SMTP_URL" if settings.smtp_url else f"{settings.mail_dir}/"

    def run(self) -> None:
        """Until ``stop()``: a failing database or mail server is logged and tried again."""
        logging.getLogger("app.notifications").warning(  # seen at any level of logging
            "delivering mail to %s every %s s", self.where, self.settings.mail_poll_seconds
        )
        while not self.stopping.is_set():
            try:
                self.run_once()
            except OperationalError as error:
                # The database busy (SQLite's write lock held by a long change) or out of
                # reach: it passes, and a traceback would say nothing more.
                log.warning(
                    "the sender could not use the database (%s); it tries again", error.orig
                )
            except Exception:
                log.exception("the sender's round failed; it tries again")
            self.stopping.wait(self.settings.mail_poll_seconds)

    def stop(self) -> None:
        self.stopping.set()


def start_thread(sender: Sender) -> threading.Thread:
    thread = threading.Thread(target=sender.run, name="kep-mail-sender", daemon=True)
    thread.start()
    return thread
