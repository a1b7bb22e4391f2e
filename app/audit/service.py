"""The one way every state change reaches the audit trail."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.common.paging import Paged, PageRequest, fetch_page
from app.common.schemas import utc_text
from app.models import AuditEntry, Role, User


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


# Who registered for an event is for its host and the secretariat only: operators see
# the rest of the trail, not these entries.
SECRETARIAT_ONLY = ("registration",)


def list_entries(
    *,
    session: Session,
    viewer: User,
    entity_type: str | None,
    entity_id: int | None,
    page: PageRequest,
) -> Paged[AuditEntry]:
    """Entries newest first, with the total that the filters select."""
    query = select(AuditEntry)
    if viewer.role != Role.secretariat:
        query = query.where(AuditEntry.entity_type.not_in(SECRETARIAT_ONLY))
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return fetch_page(session, query.order_by(AuditEntry.id.desc()), page)
