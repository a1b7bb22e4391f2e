"""Bodies for the plan's catalogue."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from app.common.schemas import (
    Communication,
    Day,
    Id,
    Instant,
    Patch,
    Strict,
    Summary,
    Title,
    plausible,
)
from app.models import ActionStatus

PriorityAreaNumbers = Annotated[list[Id], Field(min_length=1, max_length=20)]


class PriorityAreaRead(BaseModel):
    number: int
    title: str
    description: str


class ActionRead(BaseModel):
    number: int
    title: str
    summary: str
    priority_areas: list[int]
    focus_priority_area: int | None
    status: ActionStatus


class ActionChangeRead(BaseModel):
    at: Instant
    change: str = Field(description="added, amended, retired or restored")
    actor_id: int | None
    communication: Communication
    before: dict[str, Any] | None
    after: dict[str, Any]


class ActionDetail(ActionRead):
    history: list[ActionChangeRead]


class ChangeCommunication(Communication):
    """The registered communication that agreed a change: already exchanged, so dated
    today at the latest (the service checks that against its clock), and not before the
    change it follows in the action's history (for a new action, the plan's adoption)."""

    date: Annotated[Day, AfterValidator(plausible)]


class ActionCreate(Strict):
    title: Title
    summary: Summary = ""
    priority_areas: PriorityAreaNumbers
    focus_priority_area: Id | None = None
    communication: ChangeCommunication


class ActionUpdate(Patch):
    not_emptied = ("title", "summary", "priority_areas", "status", "communication")

    title: Title | None = None
    summary: Summary | None = None
    priority_areas: PriorityAreaNumbers | None = None
    focus_priority_area: Id | None = None
    status: ActionStatus | None = None
    communication: ChangeCommunication = Field(
        description="the registered communication that agreed the change; required even when "
        "nothing changes, so that a request is the same whatever the action's state"
    )
