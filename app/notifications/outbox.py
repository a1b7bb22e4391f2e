"""Writing messages to the outbox, in the transaction of the change they tell of.

Nothing here sends anything: the sender (``app.notifications.sender``) delivers what
the outbox holds once the transaction has committed. A change that is rolled back takes
its messages with it. Each message has an idempotency key naming what it is about; a
second message with the same key is dropped by the database (``ON CONFLICT DO NOTHING``).
"""

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, func, select
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from app.common.cache import BoundedCache
from app.config import Settings
from app.feeds.entries import is_current, made_with
from app.feeds.queries import public_rows, split_entry
from app.feeds.versions import catalogue_changed
from app.feeds.vevents import events_for_entries
from app.models import Event, MessageStatus, OutboxMessage, User
from app.models.base import insert_for
from app.notifications import itip, preferences
from app.notifications.kinds import KINDS
from app.notifications.wording import one_line

log = logging.getLogger(__name__)

# Where a message's secret link goes in its body; the sender puts the link there at the
# last moment, and the outbox never keeps it once the message is delivered.
LINK_MARK = "[link sent by mail]"
# The events rendered for the invitations of one transaction's messages, by id.
RENDERED = "kep_invitation_events"
# The last SEQUENCE sent to each person asked for, by event id, for the same messages
# (None: nothing sent yet).
SEQUENCES = "kep_invitation_sequences"
# The people each event's invitations of one commit go to, by event id, noted before the
# messages are written: what was sent is asked for them all at once, and for them only.
INVITED = "kep_invited_addresses"
# People asked for by name at most: for more (an event cancelled), everyone's are read,
# rather than a list that could pass the bound parameters a database takes.
ASKED_AT_MOST = 500


@dataclass(frozen=True, slots=True)
class Invite:
    """The calendar part a message carries: the event and the iTIP method."""

    event_id: int
    method: str


@dataclass(slots=True)
class Draft:
    """A message before it is queued: to an account (``user``) or to a bare address."""

    kind: str
    key: str
    subject: str
    body: str
    user: User | None = None
    address: str | None = None
    name: str = ""
    named: bool = True  # the recipient's name is written in the To header
    secret_link: str | None = None
    invite: Invite | None = None


# Addresses are checked as each message is queued, and most are checked again and again
# (a member's every registration): the check depends on the text alone.
@lru_cache(maxsize=4096)
def _valid(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def enqueue(session: Session, draft: Draft, *, settings: Settings, now: datetime) -> bool:
    """Queue one message; False when the person turned its kind off, the address is not
    one, or a message with the same key is queued already."""
    return insert(session, prepare_all(session, [(draft, now)], settings=settings)) == 1


def prepare_all(
    session: Session, drafts: Sequence[tuple[Draft, datetime]], *, settings: Settings
) -> list[dict[str, object]]:
    """The outbox rows of messages, each written as of its own moment, without those not
    to be sent. Who turned which optional kinds off is asked once for them all, and whom
    their invitations go to is noted before any is written (``note_invited``)."""
    optional = {
        (draft.user.id, draft.kind)
        for draft, _at in drafts
        if draft.user is not None and KINDS[draft.kind].optional
    }
    off = preferences.turned_off(session, optional)
    note_invited(session, [draft for draft, _at in drafts])
    rows = [_row(session, draft, off, settings=settings, now=at) for draft, at in drafts]
    return [row for row in rows if row is not None]


def _row(
    session: Session,
    draft: Draft,
    off: set[tuple[int, str]],
    *,
    settings: Settings,
    now: datetime,
) -> dict[str, object] | None:
    kind = KINDS[draft.kind]
    if draft.user is not None and (
        (draft.user.id, kind.name) in off or draft.user.disabled_at is not None
    ):
        return None
    raw = draft.user.email if draft.user is not None else draft.address or ""
    address = _valid(raw)
    if address is None:
        log.warning("a %s message was not queued: %r is not a mail address", kind.name, raw)
        return None
    name = "" if not draft.named else draft.user.name if draft.user is not None else draft.name
    subject, body = written(session, draft, settings=settings)
    values: dict[str, object] = {
        "idempotency_key": draft.key[:200],
        "kind": kind.name,
        "user_id": draft.user.id if draft.user is not None else None,
        "recipient": address,
        "recipient_name": one_line(name, 200),
        "subject": subject,
        "body": body,
        "optional": kind.optional and draft.user is not None,
        "secret": draft.secret_link,
        "message_id": make_msgid(domain=_domain(settings.mail_from)),
        "status": MessageStatus.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "calendar": None,
        "calendar_method": None,
        "calendar_uid": None,
        "calendar_sequence": None,
    }
    if draft.invite is not None:
        values.update(_calendar(session, draft.invite, address, name, settings=settings, now=now))
    return values


def written(session: Session, draft: Draft, *, settings: Settings) -> tuple[str, str]:
    """A message's subject and body as queued: an optional one to an account ends with
    the link that turns its kind off and the link to the person's choices."""
    kind = KINDS[draft.kind]
    body = draft.body
    if kind.optional and draft.user is not None:
        stop = preferences.unsubscribe_code(session, draft.user.id, kind.name)
        choose = preferences.choices_code(session, draft.user.id)
        body += (
            f"\n\n--\nYou receive this as one of {kind.audience} ({kind.description}).\n"
            f"Stop these mails: {preferences.unsubscribe_url(settings.base_url, stop)}\n"
            f"Choose what you receive: {preferences.choices_url(settings.base_url, choose)}"
        )
    return one_line(draft.subject), body


# Rows per INSERT: well below the bound parameters either database takes.
INSERT_CHUNK = 500


def insert(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert prepared rows, a few hundred per statement; a row whose key is queued
    already is dropped. The number inserted."""
    if not rows:
        return 0
    session.flush()  # the rows the messages refer to, as this transaction has them
    statement = _insert_statement(session.get_bind().dialect.name)
    inserted = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        # Many parameter sets for one statement, compiled once: SQLAlchemy sends them as
        # multi-row INSERTs and gathers the ids RETURNING gives back.
        result = session.connection().execute(statement, rows[start : start + INSERT_CHUNK])
        inserted += len(result.all())
    return inserted


@lru_cache(maxsize=2)
def _insert_statement(dialect: str) -> Any:
    return (
        insert_for(dialect)(OutboxMessage)
        .on_conflict_do_nothing(index_elements=[OutboxMessage.idempotency_key])
        .returning(OutboxMessage.id)
    )


def note_invited(session: Session, drafts: list[Draft]) -> None:
    """Note whom the invitations among ``drafts`` go to, before they are prepared."""
    invited: dict[int, set[str]] = session.info.setdefault(INVITED, {})
    for draft in drafts:
        raw = draft.user.email if draft.user is not None else draft.address or ""
        if draft.invite is not None and (address := _valid(raw)) is not None:
            invited.setdefault(draft.invite.event_id, set()).add(address)


def forget_renderings(session: Session) -> None:
    """Drop what ``_calendar`` kept for the messages of one commit."""
    for kept in (RENDERED, SEQUENCES, INVITED):
        session.info.pop(kept, None)


@lru_cache(maxsize=4)
def _domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


def _calendar(
    session: Session, invite: Invite, address: str, name: str, *, settings: Settings, now: datetime
) -> dict[str, object]:
    """The invitation's columns. Its SEQUENCE is the event's stored one, raised past any
    sent to this person before for the same event: after a cancellation, a new
    invitation must outrank it, or calendars would ignore it."""
    session.flush()  # the event as this transaction has changed it
    known = session.info.setdefault(SEQUENCES, {}).setdefault(invite.event_id, {})
    # What was sent before is asked for all this commit invites to the event, at once.
    invited = session.info.get(INVITED, {}).get(invite.event_id, set())
    asked = [] if address in known else sorted(({address} | invited) - known.keys())
    made = session.info.setdefault(RENDERED, {})
    if invite.event_id not in made:  # one rendering for all the registrants of a change
        one = asked[0] if len(asked) == 1 else None  # asked for with the event's version
        made[invite.event_id], last = shared_lines(
            session, invite.event_id, settings.base_url, sent_to=one
        )
        if one is not None:
            known[one], asked = last, []
    event: itip.EventLines = made[invite.event_id]
    if asked:
        few = len(asked) <= ASKED_AT_MOST
        values = {"uid": event.uid, "recipients": asked} if few else {"uid": event.uid}
        sent = session.connection().execute(_sent_before(few), values)
        ones = set(asked)  # only theirs: what this commit gave others is not inserted yet
        known.update(dict.fromkeys(asked))
        known.update((person, last) for person, last in sent if person in ones)
    last = known[address]
    sequence = event.sequence if last is None else max(event.sequence, last + 1)
    known[address] = sequence
    text = itip.invitation(
        event,
        method=invite.method,
        sequence=sequence,
        attendee=address,
        attendee_name=name,
        organizer=settings.mail_from,
        now=now,
    )
    return {
        "calendar": text,
        "calendar_method": invite.method,
        "calendar_uid": event.uid,
        "calendar_sequence": sequence,
    }


@lru_cache(maxsize=2)
def _sent_before(of_some: bool) -> Any:
    """The last SEQUENCE each person was sent for one event: each of some people, or
    everyone."""
    query = select(OutboxMessage.recipient, func.max(OutboxMessage.calendar_sequence)).where(
        OutboxMessage.calendar_uid == bindparam("uid")
    )
    if of_some:
        query = query.where(OutboxMessage.recipient.in_(bindparam("recipients", expanding=True)))
    return query.group_by(OutboxMessage.recipient)


# -- the lines every invitation to one version of an event shares -------------------------

# Kept by each process, by the event's version (its UID, and ``sequence`` and
# ``updated_at``, which every change to its lines moves, as the feeds' stored parts
# are), the catalogue's latest change (the actions' titles are in the text) and the
# public address; about 2 KB each. Lines made in a transaction are kept once it
# commits: a change rolled back may leave a version that another change made at the
# same moment reuses. (Lines read just as a change commits elsewhere may be kept under
# the version before it, which no transaction reads once the change has committed.)
LINES_BYTES = 4 * 1024 * 1024
_LINES: BoundedCache[Hashable, itip.EventLines] = BoundedCache(
    LINES_BYTES, size=lambda lines: lines.size + 256
)
MADE_LINES = "kep_invitation_lines"


@lru_cache(maxsize=2)
def _version_statement(with_last_sent: bool) -> Any:
    """The event as the public feeds hold it (with the VEVENT they keep and that part's
    version), and what its lines need besides: its UID, the catalogue's latest change,
    when its agenda was confirmed; and, ``with_last_sent``, the last SEQUENCE one person
    was sent for it."""
    event = [Event.id == bindparam("event_id")]
    extra = [Event.uid, catalogue_changed(), Event.agenda_confirmed_at]
    if with_last_sent:
        last_sent = select(func.max(OutboxMessage.calendar_sequence)).where(
            OutboxMessage.calendar_uid == Event.uid,
            OutboxMessage.recipient == bindparam("recipient"),
        )
        extra.append(last_sent.scalar_subquery())
    return public_rows(event, *extra)


def shared_lines(
    session: Session, event_id: int, base_url: str, *, sent_to: str | None = None
) -> tuple[itip.EventLines, int | None]:
    """The event's shared lines, written once per version of the event in each process:
    taken from the VEVENT the feeds keep when it is current (one statement in all), else
    written from the event. With them, the last SEQUENCE ``sent_to`` was sent for the
    event, read in the same statement (None: none, or nobody asked for)."""
    asks = sent_to is not None
    values = {"event_id": event_id, "recipient": sent_to} if asks else {"event_id": event_id}
    entry, extra = split_entry(session.connection().execute(_version_statement(asks), values).one())
    uid, catalogue, confirmed_at = extra[:3]
    key = (event_id, (uid, entry.sequence, entry.updated_at, catalogue), base_url)
    lines = _LINES.get(key)
    if lines is None:
        kept, made = entry.stored_vevent, made_with(catalogue=catalogue, base_url=base_url)
        if kept is not None and is_current(entry, made):
            lines = itip.kept_lines(entry, kept, uid=uid, agenda_confirmed_at=confirmed_at)
        else:
            (event,) = events_for_entries(session, [event_id])
            lines = itip.event_lines(event, base_url=base_url)
        session.info.setdefault(MADE_LINES, {})[key] = lines
    return lines, extra[3] if asks else None


def _keep_lines(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the transaction around it may still be rolled back
    for key, lines in session.info.pop(MADE_LINES, {}).items():
        _LINES.put(key, lines)


def _forget_lines(session: Session, *_args: Any) -> None:
    session.info.pop(MADE_LINES, None)


orm_event.listen(Session, "after_commit", _keep_lines)
orm_event.listen(Session, "after_rollback", _forget_lines)
