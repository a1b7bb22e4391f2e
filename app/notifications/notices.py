"""Time-based notices: a call for topics opens, voting opens, voting closes, an event is
tomorrow. The sender's loop fires each once.

A notice is due when its moment has come, and for a day after (a sender that was down
catches up; a new installation does not announce old news). Firing writes a row to
``notices`` under a key that names the moment, together with the messages, in one
transaction: the primary key lets only one sender fire it, however many run and however
often they restart. If the secretariat moves a date, the new moment is a new notice.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import (
    AGREEING_INSTITUTIONS,
    Event,
    EventStatus,
    MessageStatus,
    Notice,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Role,
    Seminar,
    User,
)
from app.notifications import messages
from app.notifications.outbox import Draft, insert, prepare_all, written

log = logging.getLogger(__name__)

# How long after its moment a notice may still fire.
GRACE = timedelta(days=1)
# How long before an event its reminder goes out.
REMINDER_LEAD = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Due:
    """A notice whose moment has come, and how to make its messages."""

    key: str
    drafts: Callable[[Session], list[Draft]]


def _users(
    session: Session, *roles: Role, institutions: tuple[str, ...] | None = None
) -> list[User]:
    query = select(User).where(User.role.in_(roles)).order_by(User.id)
    if institutions is not None:
        query = query.where(User.institution.in_(institutions))
    return list(session.scalars(query))


def _seminar_notices(session: Session, now: datetime, base_url: str) -> list[Due]:
    since = now - GRACE
    found: list[Due] = []
    seminars = session.scalars(
        select(Seminar)
        .where(
            (Seminar.proposals_open_at.between(since, now))
            | (Seminar.proposals_close_at.between(since, now))
            | (Seminar.voting_close_at.between(since, now))
        )
        .order_by(Seminar.id)
    ).all()
    for seminar in seminars:
        if since <= seminar.proposals_open_at <= now and seminar.proposals_close_at > now:

            def opened(s: Session, seminar: Seminar = seminar) -> list[Draft]:
                return [
                    messages.call_for_topics(seminar, member, base_url)
                    for member in _users(s, Role.member)
                ]

            key = f"seminar:{seminar.id}:{messages.seminar_moment('call_for_topics', seminar)}"
            found.append(Due(key, opened))
        if since <= seminar.proposals_close_at <= now and seminar.voting_close_at > now:

            def voting(s: Session, seminar: Seminar = seminar) -> list[Draft]:
                return [
                    messages.voting_opens(seminar, voter, base_url)
                    for voter in _users(s, Role.member, Role.secretariat)
                ]

            key = f"seminar:{seminar.id}:{messages.seminar_moment('voting_opens', seminar)}"
            found.append(Due(key, voting))
        if since <= seminar.voting_close_at <= now and seminar.agreed_at is None:

            def closed(s: Session, seminar: Seminar = seminar) -> list[Draft]:
                staff = _users(s, Role.secretariat, institutions=AGREEING_INSTITUTIONS)
                return [messages.voting_closed(seminar, person, base_url) for person in staff]

            key = f"seminar:{seminar.id}:{messages.seminar_moment('voting_closed', seminar)}"
            found.append(Due(key, closed))
    return found


def _reminders(session: Session, now: datetime, base_url: str) -> list[Due]:
    events = session.scalars(
        select(Event)
        .where(
            Event.status == EventStatus.published,
            Event.starts_at > now,
            Event.starts_at <= now + REMINDER_LEAD,
        )
        .order_by(Event.starts_at, Event.id)
    ).all()
    found = []
    for event in events:

        def remind(s: Session, event: Event = event) -> list[Draft]:
            registered = s.scalars(
                select(User)
                .join(Registration, Registration.user_id == User.id)
                .where(
                    Registration.event_id == event.id,
                    Registration.status == RegistrationStatus.registered,
                )
                .order_by(User.id)
            )
            return [messages.event_reminder(event, user, base_url) for user in registered]

        found.append(Due(f"event:{event.id}:reminder:{event.starts_at.isoformat()}", remind))
    return found


def no_longer_holds(session: Session, message: OutboxMessage, now: datetime) -> str | None:
    """Why a queued notice would now say something untrue, if it would: a notice that
    the mail server refused at first is checked again before each attempt (and any
    optional message against the person's choices, by the sender)."""
    check = _CHECKS.get(message.kind)
    return None if check is None else check(session, message, now)


def outranked(session: Session, messages: list[OutboxMessage]) -> dict[int, str]:
    """Invitations outranked by a later one for the same event, sent to the same address
    while they waited for the mail server (a cancellation after a confirmation the
    server refused): sent now, they would arrive last and undo it. By id, with why."""
    invitations = [m for m in messages if m.calendar_uid and m.calendar_sequence is not None]
    if not invitations:
        return {}
    sent = session.execute(
        select(
            OutboxMessage.calendar_uid,
            OutboxMessage.recipient,
            func.max(OutboxMessage.calendar_sequence),
        )
        .where(
            OutboxMessage.calendar_uid.in_({m.calendar_uid for m in invitations}),
            OutboxMessage.recipient.in_({m.recipient for m in invitations}),
            OutboxMessage.status == MessageStatus.sent,
        )
        .group_by(OutboxMessage.calendar_uid, OutboxMessage.recipient)
    )
    latest: dict[tuple[str | None, str], int] = {
        (uid, recipient): sequence for uid, recipient, sequence in sent if sequence is not None
    }
    return {
        m.id: f"a later invitation to this event (SEQUENCE {later}) was sent while it waited"
        for m in invitations
        if (later := latest.get((m.calendar_uid, m.recipient), -1)) > (m.calendar_sequence or 0)
    }


_REMINDED = re.compile(r"event:(?P<event>\d+):reminder:.*:to:(?P<user>\d+)")


def _reminder_untrue(session: Session, message: OutboxMessage, now: datetime) -> str | None:
    """The event may have been cancelled or moved since (its cancellation or change was
    then mailed), or begun; the person may have given up the place."""
    found = _REMINDED.fullmatch(message.idempotency_key)
    if found is None:
        return None
    event = session.get(Event, int(found["event"]))
    user_id = int(found["user"])
    if event is None or event.status != EventStatus.published:
        return "the event was cancelled"
    if messages.reminder_key(event, user_id) != message.idempotency_key:
        return "the event moved"
    if event.starts_at <= now:
        return "the event has begun"
    place = select(Registration.id).where(
        Registration.event_id == event.id,
        Registration.user_id == user_id,
        Registration.status == RegistrationStatus.registered,
    )
    if session.scalar(place) is None:
        return "the place was given up"
    return None


_SEMINAR_NOTICE = re.compile(r"seminar:(?P<seminar>\d+):(?P<moment>.+):to:\d+")


def _notice_of(session: Session, message: OutboxMessage) -> tuple[Seminar | None, str] | None:
    """The seminar a notice tells of (None: removed since) and the moment its key names;
    None for a message that is no seminar's notice."""
    found = _SEMINAR_NOTICE.fullmatch(message.idempotency_key)
    if found is None:
        return None
    return session.get(Seminar, int(found["seminar"])), found["moment"]


def _seminar_notice_untrue(session: Session, message: OutboxMessage, now: datetime) -> str | None:
    """The phase a call for topics or the opening of voting announces may have closed
    (early, or while the mail server was down), the topic may have been agreed since
    voting closed, or the date may have moved (the new one is another notice)."""
    notice = _notice_of(session, message)
    if notice is None:
        return None
    seminar, moment = notice
    if seminar is None:
        return "the seminar was removed"
    if messages.seminar_moment(message.kind, seminar) != moment:
        return "the seminar's dates moved"
    if message.kind == "call_for_topics" and seminar.proposals_close_at <= now:
        return "the call for topics has closed"
    if message.kind == "voting_opens" and seminar.voting_close_at <= now:
        return "voting has closed"
    if message.kind == "voting_closed" and seminar.agreed_at is not None:
        return "the topic was agreed"
    return None


# How each of the seminar's notices is written, for one person.
_SEMINAR_DRAFTS: dict[str, Callable[[Seminar, User, str], Draft]] = {
    "call_for_topics": messages.call_for_topics,
    "voting_opens": messages.voting_opens,
    "voting_closed": messages.voting_closed,
}


def as_it_now_stands(
    session: Session, message: OutboxMessage, settings: Settings
) -> tuple[str, str] | None:
    """A seminar's notice that still holds on a later attempt, written again from the
    seminar as it now stands: its subject and body, where they differ from those queued.
    A date it gives besides its own moment (when the call or voting closes) may have
    moved since, which is no new notice: the person is told the date that holds."""
    if message.kind not in _SEMINAR_DRAFTS or message.attempts <= 1:
        return None
    notice = _notice_of(session, message)
    seminar = None if notice is None else notice[0]
    person = None if message.user_id is None else session.get(User, message.user_id)
    if seminar is None or person is None:
        return None
    draft = _SEMINAR_DRAFTS[message.kind](seminar, person, settings.base_url)
    now_written = written(session, draft, settings=settings)
    return None if now_written == (message.subject, message.body) else now_written


_CHECKS: dict[str, Callable[[Session, OutboxMessage, datetime], str | None]] = {
    "event_reminder": _reminder_untrue,
    **dict.fromkeys(messages.SEMINAR_MOMENTS, _seminar_notice_untrue),
}


def due(session: Session, now: datetime, base_url: str) -> list[Due]:
    """The notices whose moment has come and that have not fired."""
    candidates = _seminar_notices(session, now, base_url) + _reminders(session, now, base_url)
    if not candidates:
        return []
    fired = set(
        session.scalars(select(Notice.key).where(Notice.key.in_([c.key for c in candidates])))
    )
    return [candidate for candidate in candidates if candidate.key not in fired]


def fire_due(sessions: sessionmaker[Session], *, settings: Settings, now: datetime) -> int:
    """Fire every due notice, each in a transaction of its own; the number fired here."""
    with sessions() as session:
        waiting = [candidate.key for candidate in due(session, now, settings.base_url)]
    fired = 0
    for key in waiting:
        try:
            with sessions.begin() as session:
                # Found again in this transaction, so that its messages are made from the
                # rows as they now stand.
                notice = next(
                    (c for c in due(session, now, settings.base_url) if c.key == key), None
                )
                if notice is None:
                    continue
                session.add(Notice(key=key, fired_at=now))
                session.flush()  # another sender that fired it first: the key refuses this one
                drafts = [(draft, now) for draft in notice.drafts(session)]
                insert(session, prepare_all(session, drafts, settings=settings))
            fired += 1
        except IntegrityError:
            log.info("notice %s was fired by another sender", key)
    return fired
