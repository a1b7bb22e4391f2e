"""Response bodies for the plan's catalogue, made from rows."""

from app.catalogue.schemas import ActionChangeRead, ActionDetail, ActionRead, PriorityAreaRead
from app.common.schemas import Communication
from app.models import Action, ActionChange, PriorityArea


def priority_area_read(area: PriorityArea) -> PriorityAreaRead:
    return PriorityAreaRead(number=area.number, title=area.title, description=area.description)


def action_read(action: Action) -> ActionRead:
    return ActionRead(
        number=action.number,
        title=action.title,
        summary=action.summary,
        priority_areas=action.priority_area_numbers,
        focus_priority_area=action.focus_priority_area,
        status=action.status,
    )


def action_change_read(change: ActionChange) -> ActionChangeRead:
    return ActionChangeRead(
        at=change.at,
        change=change.change,
        actor_id=change.actor_id,
        communication=Communication(
            reference=change.communication_reference, date=change.communication_date
        ),
        before=change.before,
        after=change.after,
    )


def action_detail(action: Action) -> ActionDetail:
    return ActionDetail(
        **action_read(action).model_dump(),
        history=[action_change_read(change) for change in action.history],
    )
