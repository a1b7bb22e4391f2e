"""The plan's priority areas and actions."""

from fastapi import APIRouter, Response, status

from app.auth.deps import ClockDep, Secretariat, SessionDep, SettingsDep
from app.bodies import JsonRoute
from app.catalogue import presenters
from app.catalogue import service as catalogue
from app.catalogue.schemas import (
    ActionCreate,
    ActionDetail,
    ActionRead,
    ActionUpdate,
    PriorityAreaRead,
)
from app.common.http import LOCATED, located
from app.common.params import Paging
from app.common.schemas import IdPath, Page, presented_page
from app.errors import responses
from app.models import ActionStatus

router = APIRouter(tags=["catalogue"], route_class=JsonRoute)


@router.get("/priority-areas", response_model=Page[PriorityAreaRead])
def list_priority_areas(session: SessionDep, page: Paging):
    """The plan's four priority areas."""
    found = catalogue.list_priority_areas(session=session, page=page)
    return presented_page(PriorityAreaRead, found, presenters.priority_area_read, page)


@router.get("/priority-areas/{number}", response_model=PriorityAreaRead, responses=responses(404))
def read_priority_area(number: IdPath, session: SessionDep):
    """One priority area."""
    return presenters.priority_area_read(
        catalogue.get_priority_area(session=session, number=number)
    )


@router.get("/actions", response_model=Page[ActionRead])
def list_actions(session: SessionDep, page: Paging, status: ActionStatus | None = None):
    """The plan's actions by number, with the priority areas each contributes to; `status`
    filters."""
    found = catalogue.list_actions(session=session, status=status, page=page)
    return presented_page(ActionRead, found, presenters.action_read, page)


@router.get("/actions/{number}", response_model=ActionDetail, responses=responses(404))
def read_action(number: IdPath, session: SessionDep):
    """One action with its history: every change and the communication that agreed it."""
    action = catalogue.get_action(session=session, number=number, with_history=True)
    return presenters.action_detail(action)


@router.post(
    "/actions",
    response_model=ActionDetail,
    status_code=status.HTTP_201_CREATED,
    responses={**responses(401, 403, 409), **LOCATED},
)
def add_action(
    body: ActionCreate,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
    settings: SettingsDep,
    response: Response,
):
    """Add an action agreed by registered communication between CoR SEDEC and DG RTD.
    It takes the next free number. The communication is dated between the plan's
    adoption and today."""
    action = catalogue.add_action(session=session, actor=user, data=body, now=clock())
    located(response, settings.base_url, f"/actions/{action.number}")
    return presenters.action_detail(action)


@router.patch("/actions/{number}", response_model=ActionDetail, responses=responses(401, 403, 404))
def amend_action(
    number: IdPath, body: ActionUpdate, session: SessionDep, user: Secretariat, clock: ClockDep
):
    """Amend an action's title, summary or priority areas, or retire (`status: retired`) or
    restore it. Every change names its registered communication and stays in the history;
    asking for what already stands answers the action unchanged and records nothing. The
    communication is dated today at the latest, and not before the one of the action's
    latest recorded change: the history keeps the order in which changes were agreed."""
    action = catalogue.amend_action(
        session=session, actor=user, number=number, data=body, now=clock()
    )
    return presenters.action_detail(action)
