"""The plan's catalogue, and the one rule that links events and proposals to it."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.catalogue.schemas import ActionCreate, ActionUpdate
from app.errors import Invalid, NotFound
from app.models import Action, ActionChange, ActionStatus, PriorityArea, User


def list_priority_areas(*, session: Session) -> list[PriorityArea]:
    return list(session.scalars(select(PriorityArea).order_by(PriorityArea.number)))


def get_priority_area(*, session: Session, number: int) -> PriorityArea:
    area = session.get(PriorityArea, number)
    if area is None:
        raise NotFound(f"No priority area {number}; the plan has priority areas 1 to 4")
    return area


def list_actions(*, session: Session, status: ActionStatus | None = None) -> list[Action]:
    query = select(Action).options(selectinload(Action.priority_areas)).order_by(Action.number)
    if status is not None:
        query = query.where(Action.status == status)
    return list(session.scalars(query))


def get_action(
    *, session: Session, number: int, with_history: bool = False, for_update: bool = False
) -> Action:
    options = [selectinload(Action.priority_areas)]
    if with_history:
        options.append(selectinload(Action.history))
    query = select(Action).where(Action.number == number).options(*options)
    if for_update:
        query = query.with_for_update()
    action = session.scalars(query).one_or_none()
    if action is None:
        raise NotFound(f"No action {number} in the catalogue")
    return action


def _priority_areas(session: Session, numbers: Iterable[int]) -> list[PriorityArea]:
    wanted = sorted(set(numbers))
    found = {
        area.number: area
        for area in session.scalars(select(PriorityArea).where(PriorityArea.number.in_(wanted)))
    }
    missing = [number for number in wanted if number not in found]
    if missing:
        raise Invalid(f"Unknown priority area {', '.join(map(str, missing))}")
    return [found[number] for number in wanted]


def _snapshot(action: Action) -> dict[str, Any]:
    return {
        "title": action.title,
        "summary": action.summary,
        "priority_areas": action.priority_area_numbers,
        "focus_priority_area": action.focus_priority_area,
        "status": action.status,
    }


def _check_focus(focus: int | None, areas: list[PriorityArea]) -> None:
    if focus is not None and focus not in {area.number for area in areas}:
        raise Invalid(f"The focus priority area {focus} must be one of the action's priority areas")


def _log_change(
    session: Session,
    *,
    actor: User,
    action: Action,
    change: str,
    communication_reference: str,
    communication_date: Any,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    after = _snapshot(action)
    session.add(
        ActionChange(
            action_number=action.number,
            at=now,
            actor_id=actor.id,
            change=change,
            communication_reference=communication_reference,
            communication_date=communication_date,
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    )
    audit.record(
        session=session,
        actor=actor,
        action=f"action.{change}",
        entity_type="action",
        entity_id=action.number,
        before=before,
        after={**after, "communication": communication_reference},
        at=now,
    )


def add_action(*, session: Session, actor: User, data: ActionCreate, now: datetime) -> Action:
    areas = _priority_areas(session, data.priority_areas)
    _check_focus(data.focus_priority_area, areas)
    number = (session.scalar(select(func.max(Action.number))) or 0) + 1
    action = Action(
        number=number,
        title=data.title,
        summary=data.summary,
        status=ActionStatus.active,
        focus_priority_area=data.focus_priority_area,
        priority_areas=areas,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    _log_change(
        session,
        actor=actor,
        action=action,
        change="added",
        communication_reference=data.communication.reference,
        communication_date=data.communication.date,
        before=None,
        now=now,
    )
    return action


def amend_action(
    *, session: Session, actor: User, number: int, data: ActionUpdate, now: datetime
) -> Action:
    # Locked: an event or proposal linking this action waits until a retirement lands.
    action = get_action(session=session, number=number, for_update=True)
    before = _snapshot(action)
    changes = data.model_dump(exclude_unset=True, exclude={"communication"})
    if "priority_areas" in changes:
        action.priority_areas = _priority_areas(session, changes.pop("priority_areas"))
    for field, value in changes.items():
        setattr(action, field, value)
    _check_focus(action.focus_priority_area, action.priority_areas)
    if _snapshot(action) == before:
        raise Invalid(f"Action {number} already stands as given; nothing to change")
    if before["status"] != action.status:
        change = "retired" if action.status == ActionStatus.retired else "restored"
    else:
        change = "amended"
    action.updated_at = now
    session.flush()
    _log_change(
        session,
        actor=actor,
        action=action,
        change=change,
        communication_reference=data.communication.reference,
        communication_date=data.communication.date,
        before=before,
        now=now,
    )
    return action


def resolve_links(
    *,
    session: Session,
    action_numbers: Iterable[int],
    priority_area_numbers: Iterable[int] | None,
    already_linked: Iterable[int] = (),
) -> tuple[list[Action], list[PriorityArea]]:
    """The actions and priority areas an event or a proposal serves.

    At least one action; each must exist and be active, unless it was linked before
    it was retired. The priority areas default to the union of the actions' ones; any
    named area must be served by at least one of the actions.
    """
    wanted = sorted(set(action_numbers))
    if not wanted:
        raise Invalid("Name at least one action of the plan that this serves")
    found = {
        action.number: action
        for action in session.scalars(
            select(Action)
            .where(Action.number.in_(wanted))
            .options(selectinload(Action.priority_areas))
        )
    }
    missing = [number for number in wanted if number not in found]
    if missing:
        raise Invalid(f"Unknown action {', '.join(map(str, missing))}; see GET /actions")
    kept = set(already_linked)
    retired = [
        number
        for number in wanted
        if found[number].status == ActionStatus.retired and number not in kept
    ]
    if retired:
        raise Invalid(f"Action {', '.join(map(str, retired))} is retired and takes no new links")
    actions = [found[number] for number in wanted]
    served = {area.number: area for action in actions for area in action.priority_areas}
    if priority_area_numbers is None:
        return actions, [served[number] for number in sorted(served)]
    named = sorted(set(priority_area_numbers))
    if not named:
        raise Invalid("Name at least one priority area, or leave priority_areas out")
    unserved = [number for number in named if number not in served]
    if unserved:
        _priority_areas(session, unserved)  # an unknown number gets its own message
        action_list = ", ".join(map(str, wanted))
        raise Invalid(
            f"Priority area {', '.join(map(str, unserved))} is served by none of the "
            f"actions {action_list}; they serve priority areas "
            f"{', '.join(map(str, sorted(served)))}"
        )
    return actions, [served[number] for number in named]


def relink(
    *,
    session: Session,
    linked: list[int],
    action_numbers: list[int] | None,
    priority_area_numbers: list[int] | None,
) -> tuple[list[Action], list[PriorityArea]]:
    """The links after an edit that names new actions, new priority areas, or both.

    Actions left out stay as ``linked`` (retired ones included); priority areas left out
    default to all that the actions serve.
    """
    return resolve_links(
        session=session,
        action_numbers=action_numbers if action_numbers is not None else linked,
        priority_area_numbers=priority_area_numbers,
        already_linked=linked,
    )
