"""The one way every state change reaches the audit trail, and who reads what of it.

The trail keeps everything; a reader sees of each entry only what they may read
elsewhere in the service. Each kind of entity says below which of its data is personal
and who may read it; a new kind of entity must be added here before anything can
record it, so that nothing personal reaches the trail without a rule.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from app.common.paging import Paged, PageRequest, fetch_page
from app.common.schemas import utc_text
from app.events.access import visible_to
from app.models import AuditEntry, Event, Proposal, Role, Seminar, User
from app.seminars.visibility import tally_hidden


class EntityType(StrEnum):
    """Every kind of entity the trail records."""

    user = "user"
    action = "action"
    seminar = "seminar"
    proposal = "proposal"
    event = "event"
    registration = "registration"
    outbox = "outbox"


ENTITY_TYPES = frozenset(EntityType)


def jsonable(value: Any) -> Any:
    """A snapshot as JSON, its instants written as every answer writes them."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(item) for item in value]
    return value


def record(
    *,
    session: Session,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry: who did what to which entity, with the values before and after."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"{entity_type!r} has no rule for who reads it in app/audit/service.py")
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=jsonable(before),
        after=jsonable(after),
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    return entry


# -- who reads what ------------------------------------------------------------------------

# Who registered for an event is for its host and the secretariat only: operators see
# the rest of the trail, not these entries (nor the supports of a tally not yet public).
SECRETARIAT_ONLY = ("registration",)

# What an account's owner and admins read (at GET /users/{id}, /me/notifications), and
# nobody else.
PERSONAL_ACCOUNT_FIELDS = ("name", "email", "member_state", "region", "notifications")
ALL = ("before", "after")


@dataclass(frozen=True)
class Withheld:
    """What a reader does not see of one entry: the actor, and fields of the snapshots
    (``after.email``), or whole snapshots (``after``)."""

    actor: bool = False
    fields: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return (["actor_id"] if self.actor else []) + list(self.fields)


NOTHING = Withheld()


@dataclass(frozen=True)
class Listed:
    """An entry as one reader may see it."""

    entry: AuditEntry
    withheld: Withheld


def _snapshot_fields(entry: AuditEntry, names: Iterable[str]) -> tuple[str, ...]:
    return tuple(
        f"{side}.{name}" for side in ALL for name in names if name in (getattr(entry, side) or {})
    )


def withheld(viewer: User, entry: AuditEntry, public_events: set[int]) -> Withheld:
    """What ``viewer`` may not see of ``entry``: what no endpoint would show them."""
    match entry.entity_type:
        case "user":
            # Accounts are read by admins and by their owner.
            if viewer.role == Role.admin or entry.entity_id == viewer.id:
                return NOTHING
            return Withheld(fields=_snapshot_fields(entry, PERSONAL_ACCOUNT_FIELDS))
        case "registration":
            return NOTHING  # only the secretariat reads these entries at all
        case "proposal":
            # Proposals and their authors are public; who supported which is not: the
            # tally counts supports by institution and names no voter.
            if entry.action.startswith("support."):
                return Withheld(actor=True, fields=_snapshot_fields(entry, ("voter_id",)))
            return NOTHING
        case "event":
            # An event, its host and its agenda are for whoever may see the event.
            if viewer.role == Role.secretariat or entry.entity_id in public_events:
                return NOTHING
            return Withheld(actor=True, fields=ALL)
        case "seminar" | "action":
            return NOTHING  # public records, made by the secretariat
        case "outbox":
            return NOTHING  # a message's status and attempts, put back by an admin
    return Withheld(actor=True, fields=ALL)


def _public_events(session: Session, entries: list[AuditEntry]) -> set[int]:
    ids = {entry.entity_id for entry in entries if entry.entity_type == "event"}
    if not ids:
        return set()
    return set(session.scalars(select(Event.id).where(Event.id.in_(ids), visible_to(None))))


def _support_of_a_hidden_tally(now: datetime) -> ColumnElement[bool]:
    """A support given or taken back in a seminar whose tally is the secretariat's alone
    yet: each names its proposal and the voter's institution, and together they are the
    tally."""
    return and_(
        AuditEntry.entity_type == "proposal",
        AuditEntry.action.startswith("support."),
        exists().where(
            Proposal.id == AuditEntry.entity_id,
            Seminar.id == Proposal.seminar_id,
            tally_hidden(now),
        ),
    )


def list_entries(
    *,
    session: Session,
    viewer: User,
    entity_type: str | None,
    entity_id: int | None,
    page: PageRequest,
    now: datetime,
) -> Paged[Listed]:
    """Entries newest first, each with what ``viewer`` may not see of it, and the total
    that the filters select."""
    query = select(AuditEntry)
    if viewer.role != Role.secretariat:
        query = query.where(
            AuditEntry.entity_type.not_in(SECRETARIAT_ONLY), ~_support_of_a_hidden_tally(now)
        )
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    found = fetch_page(session, query.order_by(AuditEntry.id.desc()), page)
    public_events = _public_events(session, found.rows)
    return Paged(
        rows=[Listed(entry, withheld(viewer, entry, public_events)) for entry in found.rows],
        total=found.total,
    )
