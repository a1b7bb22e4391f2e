"""Response bodies for the audit trail, made from rows."""

from typing import Any

from app.audit.schemas import AuditEntryRead
from app.audit.service import Listed


def _shown(snapshot: dict[str, Any] | None, side: str, hidden: list[str]) -> dict[str, Any] | None:
    if snapshot is None or side in hidden:
        return None
    return {key: value for key, value in snapshot.items() if f"{side}.{key}" not in hidden}


def entry_read(listed: Listed) -> AuditEntryRead:
    """An entry without what its reader may not see; ``hidden`` names what was left out."""
    entry, hidden = listed.entry, listed.withheld.names
    return AuditEntryRead(
        id=entry.id,
        at=entry.at,
        actor_id=None if "actor_id" in hidden else entry.actor_id,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        before=_shown(entry.before, "before", hidden),
        after=_shown(entry.after, "after", hidden),
        hidden=hidden,
    )
