"""The plan's catalogue: priority areas and actions, and their amendments."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.catalogue.schemas import ActionCreate, ActionUpdate, ChangeCommunication
from app.common.paging import Paged, PageRequest, fetch_page
from app.errors import Invalid, NotFound
from app.models import (
    Action,
    ActionChange,
    ActionChangeKind,
    ActionStatus,
    Event,
    PriorityArea,
    User,
)
from app.models.events import event_actions


def list_priority_areas(*, session: Session, page: PageRequest) -> Paged[PriorityArea]:
    return fetch_page(session, select(PriorityArea).order_by(PriorityArea.number), page)


def every_priority_area(*, session: Session) -> list[PriorityArea]:
    """All priority areas, for readers that need the whole catalogue (reports, pages)."""
    return list(session.scalars(select(PriorityArea).order_by(PriorityArea.number)))


def get_priority_area(*, session: Session, number: int) -> PriorityArea:
    area = session.get(PriorityArea, number)
    if area is None:
        raise NotFound(f"No priority area {number}; the plan has priority areas 1 to 4")
    return area


def _actions(status: ActionStatus | None) -> Select[Action]:
    query = select(Action).options(selectinload(Action.priority_areas)).order_by(Action.number)
    if status is not None:
        query = query.where(Action.status == status)
    return query


def list_actions(
    *, session: Session, status: ActionStatus | None = None, page: PageRequest
) -> Paged[Action]:
    return fetch_page(session, _actions(status), page)


def every_action(*, session: Session, status: ActionStatus | None = None) -> list[Action]:
    """All actions (of ``status``, if given), for readers that need the whole catalogue."""
    return list(session.scalars(_actions(status)))


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


def priority_areas(session: Session, numbers: Iterable[int]) -> list[PriorityArea]:
    wanted = sorted(set(numbers))
    found = {
        area.number: area
        for area in session.scalars(select(PriorityArea).where(PriorityArea.number.in_(wanted)))
    }
    missing = [number for number in wanted if number not in found]
    if missing:
        raise Invalid(
            f"Unknown priority area {', '.join(map(str, missing))}; the plan has priority "
            "areas 1 to 4",
            loc=("body", "priority_areas"),
        )
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
        raise Invalid(
            f"The focus priority area {focus} must be one of the action's priority areas",
            loc=("body", "focus_priority_area"),
        )


# Where CoR SEDEC and DG RTD exchange and date the communications that change the plan.
PARTNERS_ZONE = ZoneInfo("Europe/Brussels")


def _check_communication(communication: ChangeCommunication, now: datetime) -> None:
    """A change records a communication already exchanged: dated today at the latest."""
    today = now.astimezone(PARTNERS_ZONE).date()
    if communication.date > today:
        raise Invalid(
            f"The communication is dated {communication.date.isoformat()}, after today "
            f"({today.isoformat()} in Brussels): a change records a communication "
            "already exchanged",
            loc=("body", "communication", "date"),
        )


def _plan_adopted(session: Session) -> date | None:
    """The day the plan was adopted, as the catalogue records it: the communication of its
    first change, the plan itself, with which the catalogue was loaded."""
    return session.scalar(
        select(ActionChange.communication_date).order_by(ActionChange.id).limit(1)
    )


def _latest_change(session: Session, action: Action) -> ActionChange | None:
    return session.scalars(
        select(ActionChange)
        .where(ActionChange.action_number == action.number)
        .order_by(ActionChange.id.desc())
        .limit(1)
    ).first()


def _check_not_before(communication: ChangeCommunication, earliest: date, since: str) -> None:
    """The history is read in order: a change cannot be agreed before what it follows."""
    if communication.date < earliest:
        raise Invalid(
            f"The communication is dated {communication.date.isoformat()}, before {since}, "
            f"dated {earliest.isoformat()}: the history records the changes in the order "
            "they were agreed",
            loc=("body", "communication", "date"),
        )


def _log_change(
    session: Session,
    *,
    actor: User,
    action: Action,
    change: ActionChangeKind,
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
    session.expire(action, ["history"])  # the change just added is read with the rest
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
    _check_communication(data.communication, now)
    adopted = _plan_adopted(session)
    if adopted is not None:
        _check_not_before(data.communication, adopted, "the communication that adopted the plan")
    areas = priority_areas(session, data.priority_areas)
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
        change=ActionChangeKind.added,
        communication_reference=data.communication.reference,
        communication_date=data.communication.date,
        before=None,
        now=now,
    )
    return action


def _renew_linked_events(session: Session, action: Action, now: datetime) -> None:
    """Every event that names the action describes it by its title: the events linked
    to it change with it, in this transaction, as calendar clients expect."""
    session.execute(
        update(Event)
        .where(
            Event.id.in_(
                select(event_actions.c.event_id).where(
                    event_actions.c.action_number == action.number
                )
            )
        )
        .values(Event.change_recorded(now))
        .execution_options(synchronize_session="fetch")
    )


def amend_action(
    *, session: Session, actor: User, number: int, data: ActionUpdate, now: datetime
) -> Action:
    _check_communication(data.communication, now)
    # Locked: an event or proposal linking this action waits until a retirement lands.
    action = get_action(session=session, number=number, for_update=True)
    # Read under the lock: a change landing meanwhile is the one this one follows.
    latest = _latest_change(session, action)
    if latest is not None:
        _check_not_before(
            data.communication,
            latest.communication_date,
            f"the communication of action {number}'s latest recorded change ({latest.change})",
        )
    before = _snapshot(action)
    changes = data.model_dump(exclude_unset=True, exclude={"communication"})
    if "priority_areas" in changes:
        action.priority_areas = priority_areas(session, changes.pop("priority_areas"))
    for field, value in changes.items():
        setattr(action, field, value)
    _check_focus(action.focus_priority_area, action.priority_areas)
    if _snapshot(action) == before:
        return action  # it already stands as asked: nothing to record
    if before["status"] != action.status:
        retired = action.status == ActionStatus.retired
        change = ActionChangeKind.retired if retired else ActionChangeKind.restored
    else:
        change = ActionChangeKind.amended
    action.updated_at = now
    session.flush()
    if action.title != before["title"]:
        _renew_linked_events(session, action, now)
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
