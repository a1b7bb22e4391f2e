"""Bodies for the audit trail."""

from typing import Any

from pydantic import BaseModel, Field

from app.common.schemas import Instant


class AuditEntryRead(BaseModel):
    id: int
    at: Instant
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int = Field(description="the id of the entity (an action's number)")
    before: dict[str, Any] | None = Field(description="instants in it are written as answers are")
    after: dict[str, Any] | None
    hidden: list[str] = Field(
        description="what you may not read of this entry, left out: `actor_id`, a snapshot "
        "(`before`, `after`) or one of its fields (`after.email`)"
    )
