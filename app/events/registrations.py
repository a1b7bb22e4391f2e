"""Registration with capacity and a waitlist.

Every change locks the event's row first (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite transactions take the write lock when they begin), so the count of places
and the order of the waitlist are read and changed by one transaction at a time.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.common.paging import Paged, PageRequest, among, fetch_page
from app.errors import Conflict, NotFound
from app.events.access import check_manager, get_visible
from app.events.queries import WHEN_AND_WHERE
from app.models import Event, EventStatus, Registration, RegistrationStatus, User

ACTIVE = (RegistrationStatus.registered, RegistrationStatus.waitlisted)
QUEUE_ORDER = (Registration.queue_number,)


def count_registered(*, session: Session, event_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.registered,
            )
        )
        or 0
    )


def _log(
    session: Session,
    actor: User,
    action: str,
    registration: Registration,
    before: str | None,
    now: datetime,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="registration",
        entity_id=registration.id,
        before={"status": before} if before else None,
        after={
            "event_id": registration.event_id,
            "user_id": registration.user_id,
            "status": registration.status,
        },
        at=now,
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """An event's registrations as one person asks for a place: how many hold one, the
    next number in the queue, and the person's own registration, if any (its id)."""

    registered: int
    next_number: int
    own: int | None


@lru_cache(maxsize=1)
def _standing_statement() -> Any:
    return select(
        func.count().filter(Registration.status == RegistrationStatus.registered),
        func.max(Registration.queue_number),
        func.max(Registration.id).filter(Registration.user_id == bindparam("user_id")),
    ).where(Registration.event_id == bindparam("event_id"))


def _standing(session: Session, event_id: int, user_id: int) -> Standing:
    """In one statement. Called with the event's row locked: no other transaction
    numbers this event's queue, or registers this person for it."""
    values = {"event_id": event_id, "user_id": user_id}
    registered, last, own = session.connection().execute(_standing_statement(), values).one()
    return Standing(registered, (last or 0) + 1, own)


@dataclass(frozen=True, slots=True)
class Registered:
    """A registration after a request for a place, and whether that request made it."""

    registration: Registration
    created: bool


def _own(session: Session, event: Event, user: User) -> Registration | None:
    return session.scalars(
        select(Registration).where(
            Registration.event_id == event.id, Registration.user_id == user.id
        )
    ).one_or_none()


def register(*, session: Session, user: User, event_id: int, now: datetime) -> Registered:
    """Ask for a place. Someone registered or waitlisted already is answered as they stand."""
    event = get_visible(session=session, event_id=event_id, viewer=user, for_update=True)
    standing = _standing(session, event.id, user.id)
    registration = None if standing.own is None else session.get(Registration, standing.own)
    if registration is not None and registration.status in ACTIVE:
        return Registered(registration, created=False)
    if event.status == EventStatus.cancelled:
        raise Conflict(f"Event {event.id} is cancelled; it takes no registrations")
    if event.status != EventStatus.published:
        raise Conflict(f"Event {event.id} is not published yet; registration opens when it is")
    if event.starts_at <= now:
        raise Conflict(
            f"Event {event.id} began on {event.starts_at:%Y-%m-%d %H:%M} UTC; "
            "registration is closed"
        )
    full = event.capacity is not None and standing.registered >= event.capacity
    before = None
    if registration is None:
        registration = Registration(event_id=event.id, user_id=user.id, created_at=now)
        session.add(registration)
    else:
        before = registration.status
        registration.cancelled_at = None
    registration.status = RegistrationStatus.waitlisted if full else RegistrationStatus.registered
    registration.queue_number = standing.next_number
    registration.registered_at = now
    registration.updated_at = now
    session.flush()
    _log(session, user, "registration.created", registration, before, now)
    return Registered(registration, created=True)


def cancel_own(*, session: Session, user: User, event_id: int, now: datetime) -> Registration:
    """Give up a place or a spot on the waitlist; a cancelled registration is answered as
    it stands."""
    event = get_visible(session=session, event_id=event_id, viewer=user, for_update=True)
    registration = _own(session, event, user)
    if registration is None:
        raise NotFound(f"You have no registration for event {event.id}")
    if registration.status == RegistrationStatus.cancelled:
        return registration
    if event.ends_at <= now:
        raise Conflict(f"Event {event.id} is over; its registrations are kept as they were")
    _cancel(session, user, event, registration, now)
    return registration


def _cancel(
    session: Session, actor: User, event: Event, registration: Registration, now: datetime
) -> None:
    """Give up the registration's place or spot, by ``actor``; the event's row is locked."""
    before = registration.status
    registration.status = RegistrationStatus.cancelled
    registration.cancelled_at = now
    registration.updated_at = now
    session.flush()
    _log(session, actor, "registration.cancelled", registration, before, now)
    if event.status != EventStatus.cancelled:
        fill_places(session=session, actor=actor, event=event, now=now)


def cancel_upcoming(*, session: Session, actor: User, user: User, now: datetime) -> int:
    """Give up, by ``actor``, ``user``'s places and spots at events not yet begun (their
    account is disabled): the places go to the waitlists. How many there were. The
    events' rows are locked in the order of their ids, as two such requests could want
    the same ones."""
    events = session.scalars(
        select(Event)
        .join(Registration, Registration.event_id == Event.id)
        .where(
            Registration.user_id == user.id,
            Registration.status.in_(ACTIVE),
            Event.starts_at > now,
        )
        .order_by(Event.id)
        .with_for_update(of=Event)
    ).all()
    if not events:
        return 0
    # Read once the events are locked, all at once: what changed them meanwhile is seen.
    held = {
        registration.event_id: registration
        for registration in session.scalars(
            select(Registration).where(
                Registration.user_id == user.id,
                Registration.event_id.in_([event.id for event in events]),
                Registration.status.in_(ACTIVE),
            )
        )
    }
    for event in events:
        if (registration := held.get(event.id)) is not None:
            _cancel(session, actor, event, registration, now)
    return len(held)


def fill_places(*, session: Session, actor: User, event: Event, now: datetime) -> None:
    """Promote the head of the waitlist into every free place, until the event begins: from
    then on registration is closed, and a place given up is no longer handed on. The
    event's row is locked."""
    if event.starts_at <= now:
        return
    waiting = (
        select(Registration)
        .where(
            Registration.event_id == event.id, Registration.status == RegistrationStatus.waitlisted
        )
        .order_by(*QUEUE_ORDER)
    )
    if event.capacity is not None:
        free = event.capacity - count_registered(session=session, event_id=event.id)
        if free <= 0:
            return
        waiting = waiting.limit(free)
    for registration in session.scalars(waiting).all():
        registration.status = RegistrationStatus.registered
        registration.updated_at = now
        session.flush()
        _log(
            session,
            actor,
            "registration.promoted",
            registration,
            RegistrationStatus.waitlisted,
            now,
        )


@dataclass(frozen=True, slots=True)
class Placed:
    """A registration with its place on the waitlist (from 1), if it waits."""

    registration: Registration
    position: int | None


def with_positions(session: Session, registrations: list[Registration]) -> list[Placed]:
    """``registrations`` with their waitlist positions, in one query per event."""
    positions = _positions(session, registrations)
    return [Placed(registration, positions.get(registration.id)) for registration in registrations]


# What a registration's answer shows besides its own row, loaded with it.
REGISTRATION_OPTIONS = (selectinload(Registration.user), selectinload(Registration.event))


def list_for_event(
    *, session: Session, viewer: User, event_id: int, page: PageRequest
) -> Paged[Registration]:
    """The people holding a place, then the waitlist in order (host and secretariat)."""
    event = get_visible(session=session, event_id=event_id, viewer=viewer)
    check_manager(viewer, event)
    query = (
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_(ACTIVE))
        .options(*REGISTRATION_OPTIONS)
        .order_by(Registration.status, *QUEUE_ORDER)
    )
    return fetch_page(session, query, page)


def list_own(*, session: Session, user: User, page: PageRequest) -> Paged[Registration]:
    """The user's registrations, newest first, cancelled ones included."""
    query = (
        select(Registration)
        .where(Registration.user_id == user.id)
        .options(*REGISTRATION_OPTIONS)
        .order_by(Registration.registered_at.desc(), Registration.id.desc())
    )
    return fetch_page(session, query, page)


# -- "my registrations", in columns --------------------------------------------------------

_OWN_COLUMNS = (
    Registration.id,
    Registration.event_id,
    Registration.status,
    Registration.registered_at,
    Registration.cancelled_at,
    Registration.created_at,
    Registration.updated_at,
    Event.title,
    Event.kind,
    Event.status.label("event_status"),
    *WHEN_AND_WHERE,
)


@dataclass(frozen=True, slots=True)
class OwnPage:
    """A page of the user's registrations as their answers show them: each row of
    ``_OWN_COLUMNS`` with its waitlist position."""

    rows: list[tuple[Any, int | None]]
    total: int

    @property
    def values(self) -> tuple[Any, ...]:
        return (self.total, [(tuple(row), position) for row, position in self.rows])


def own_page(*, session: Session, user: User, page: PageRequest) -> OwnPage:
    """``list_own`` in two statements (three with someone on a waitlist): the rows with
    their events' columns and the total, then the waitlist positions."""
    query = (
        select(*_OWN_COLUMNS)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.user_id == user.id)
    )
    counted = select(func.count()).where(Registration.user_id == user.id)
    rows = session.execute(
        query.add_columns(counted.scalar_subquery().label("total"))
        .order_by(Registration.registered_at.desc(), Registration.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    total = rows[0].total if rows else (session.scalar(counted) if page.offset else 0) or 0
    positions = _positions(session, rows)
    return OwnPage(rows=[(row, positions.get(row.id)) for row in rows], total=total)


def _positions(session: Session, registrations: Sequence[Any]) -> dict[int, int]:
    """Waitlist positions (from 1) of those of ``registrations`` that wait, by id."""
    event_ids = {r.event_id for r in registrations if r.status == RegistrationStatus.waitlisted}
    if not event_ids:
        return {}
    dialect = session.get_bind().dialect.name
    ranked = select(
        Registration.id,
        func.row_number()
        .over(partition_by=Registration.event_id, order_by=QUEUE_ORDER)
        .label("position"),
    ).where(
        among(dialect, Registration.event_id, sorted(event_ids)),
        Registration.status == RegistrationStatus.waitlisted,
    )
    return {row.id: row.position for row in session.execute(ranked)}
