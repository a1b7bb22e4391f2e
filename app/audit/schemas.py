"""Bodies for the audit trail."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hidden: list[str] = Field(
        description="what you may not read of this entry, left out: `actor_id`, a snapshot "
        "(`before`, `after`) or one of its fields (`after.email`)"
    )
