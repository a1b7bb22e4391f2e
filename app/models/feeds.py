"""Calendar feeds: personal feed tokens, each event's serialised VEVENT, and the clocks
that say when the public events of each feed last changed."""

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, case, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.models.base import Base, insert_for, text_enum, utcnow
from app.models.events import Event
from app.models.users import User


class PersonalFeed(Base):
    """A secret address for one person's own calendar. Only the token's hash is kept."""

    __tablename__ = "personal_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_fetched_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class EntryVariant(StrEnum):
    """How an event is written into a feed: as everyone sees it, or as one person's feed
    shows it to them."""

    public = "public"
    waitlisted = "waitlisted"
    unpublished = "unpublished"


class FeedEntry(Base):
    """An event's VEVENT exactly as the calendar library serialised it, with the version
    of everything it was made from (the event's change, the catalogue, the settings).

    Feeds are assembled from these parts, so an event is serialised again only when its
    version moves; the version is read from the database, so every server process
    agrees on which part is current.
    """

    __tablename__ = "feed_entries"
    __table_args__ = (
        CheckConstraint("variant IN ('public', 'waitlisted', 'unpublished')", name="variant"),
    )

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    variant: Mapped[EntryVariant] = mapped_column(text_enum(EntryVariant), primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    vevent: Mapped[str] = mapped_column(Text)


class FeedClock(Base):
    """How often the public events of one scope have changed, and when last.

    A scope is ``all``, or one value of a calendar filter (``action:3``,
    ``priority_area:2``, ``kind:joint_seminar``, ``country:BE``). Every transaction that
    changes a public event moves the clock of each scope the event belonged to before
    or belongs to after the change, as the last thing it does before it commits. So a
    feed's version is a lookup of its scopes' clocks, however many events it holds, and
    the clocks move in the order the changes commit, across every server process.
    """

    __tablename__ = "feed_clocks"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime]


def event_scopes(
    actions: Iterable[int], areas: Iterable[int], kind: str | None, country: str | None
) -> set[str]:
    scopes = {"all"}
    scopes |= {f"action:{number}" for number in actions}
    scopes |= {f"priority_area:{number}" for number in areas}
    if kind:
        scopes.add(f"kind:{kind}")
    if country:
        scopes.add(f"country:{country}")
    return scopes


def _numbers(values: Iterable[Any], key: str) -> list[int]:
    return [getattr(value, key) for value in values]


def _scopes_of_change(event: Any) -> set[str]:
    """The scopes a changed event was public in before the change, or is after it."""
    state = inspect(event)
    scopes: set[str] = set()
    history = {name: state.attrs[name].history for name in _SCOPED}
    published = history["published_at"]
    if published.non_added() and published.non_added()[0] is not None:
        scopes |= event_scopes(
            _numbers(history["actions"].non_added(), "number"),
            _numbers(history["priority_areas"].non_added(), "number"),
            next(iter(history["kind"].non_added()), None),
            next(iter(history["venue_country"].non_added()), None),
        )
    if event.published_at is not None:
        scopes |= event_scopes(
            [action.number for action in event.actions],
            [area.number for area in event.priority_areas],
            event.kind,
            event.venue_country,
        )
    return scopes


_SCOPED = ("published_at", "actions", "priority_areas", "kind", "venue_country")
_PENDING = "feed_clock_scopes"


# The public events a transaction changed, for whoever keeps something derived from them
# (the feeds keep each one's VEVENT); read and emptied before the commit.
CHANGED_EVENTS = "changed_public_events"


def _collect(session: Session, _context: Any, _instances: Any) -> None:
    """Note the scopes of every public event this flush changes, with its change time."""
    for changed in [*session.new, *session.dirty]:
        if isinstance(changed, Event) and (changed in session.new or session.is_modified(changed)):
            pending = session.info.setdefault(_PENDING, {})
            at = changed.updated_at or utcnow()  # set by every service; a default otherwise
            for scope in _scopes_of_change(changed):
                pending[scope] = max(pending.get(scope, at), at)
            if changed.published_at is not None:
                session.info.setdefault(CHANGED_EVENTS, []).append(changed)


def _move_clocks(session: Session) -> None:
    """Move the noted scopes' clocks, last before the commit: their rows are locked only
    while the transaction commits, so clocks move in commit order."""
    session.flush()  # changes still pending are collected too
    pending: dict[str, datetime] = session.info.pop(_PENDING, {})
    if not pending:
        return
    insert = insert_for(session.get_bind().dialect.name)
    statement = insert(FeedClock).values(
        [
            {"scope": scope, "revision": 1, "changed_at": pending[scope]}
            for scope in sorted(pending)  # one order for every transaction: no deadlock
        ]
    )
    statement = statement.on_conflict_do_update(
        index_elements=[FeedClock.scope],
        set_={
            "revision": FeedClock.revision + 1,
            "changed_at": case(
                (FeedClock.changed_at > statement.excluded.changed_at, FeedClock.changed_at),
                else_=statement.excluded.changed_at,
            ),
        },
    )
    session.execute(statement)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(CHANGED_EVENTS, None)


event.listen(Session, "before_flush", _collect)
event.listen(Session, "before_commit", _move_clocks)
event.listen(Session, "after_rollback", _forget)
