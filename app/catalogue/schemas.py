"""Bodies for the plan's catalogue."""

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.common.schemas import Communication, Id, Patch, Strict, Summary, Title
from app.models import ActionStatus

PriorityAreaNumbers = Annotated[list[Id], Field(min_length=1, max_length=20)]


class PriorityAreaRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    description: str


class ActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    summary: str
    priority_areas: list[int] = Field(validation_alias="priority_area_numbers")
    focus_priority_area: int | None
    status: ActionStatus


class ActionChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    change: str = Field(description="added, amended, retired or restored")
    actor_id: int | None
    communication: Communication
    before: dict[str, Any] | None
    after: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _communication(cls, value: Any) -> Any:
        if hasattr(value, "communication_reference"):
            return {
                "at": value.at,
                "change": value.change,
                "actor_id": value.actor_id,
                "communication": {
                    "reference": value.communication_reference,
                    "date": value.communication_date,
                },
                "before": value.before,
                "after": value.after,
            }
        return value


class ActionDetail(ActionRead):
    history: list[ActionChangeRead]


class ActionCreate(Strict):
    title: Title  # type: ignore[valid-type]
    summary: Summary = ""  # type: ignore[valid-type]
    priority_areas: PriorityAreaNumbers
    focus_priority_area: Id | None = None
    communication: Communication


class ActionUpdate(Patch):
    not_emptied = ("title", "summary", "priority_areas", "status", "communication")

    title: Title | None = None  # type: ignore[valid-type]
    summary: Summary | None = None  # type: ignore[valid-type]
    priority_areas: PriorityAreaNumbers | None = None
    focus_priority_area: Id | None = None
    status: ActionStatus | None = None
    communication: Communication

    @model_validator(mode="after")
    def _something_changes(self) -> Self:
        if not self.model_fields_set - {"communication"}:
            raise ValueError(
                "name what changes: title, summary, priority_areas, focus_priority_area or status"
            )
        return self
