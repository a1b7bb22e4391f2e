"""The one rule that links events and proposals to the plan's actions and priority areas."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.catalogue.service import priority_areas
from app.errors import Invalid
from app.models import Action, ActionStatus, PriorityArea

ACTIONS = ("body", "actions")
AREAS = ("body", "priority_areas")


def resolve_links(
    *,
    session: Session,
    action_numbers: Iterable[int],
    priority_area_numbers: Iterable[int] | None,
    already_linked: Iterable[int] = (),
    areas_linked: Iterable[int] = (),
) -> tuple[list[Action], list[PriorityArea]]:
    """The actions and priority areas an event or a proposal serves.

    At least one action; each must exist and be active, unless it was linked before
    it was retired. The priority areas default to the union of the actions' ones; any
    named area must be served by at least one of the actions, unless it was linked
    before with these same actions (``areas_linked``): an amendment of the plan since
    does not undo a link made under it.
    """
    wanted = sorted(set(action_numbers))
    if not wanted:
        raise Invalid("Name at least one action of the plan that this serves", loc=ACTIONS)
    found = {
        action.number: action
        for action in session.scalars(
            select(Action)
            .where(Action.number.in_(wanted))
            .options(selectinload(Action.priority_areas))
            # Shared locks: a retirement or amendment under way (which locks the action
            # for update) lands first, and its outcome is what is read here.
            .with_for_update(read=True)
        )
    }
    missing = [number for number in wanted if number not in found]
    if missing:
        raise Invalid(
            f"Unknown action {', '.join(map(str, missing))}; the plan's catalogue has no "
            "such action",
            loc=ACTIONS,
        )
    kept = set(already_linked)
    retired = [
        number
        for number in wanted
        if found[number].status == ActionStatus.retired and number not in kept
    ]
    if retired:
        raise Invalid(
            f"Action {', '.join(map(str, retired))} is retired and takes no new links", loc=ACTIONS
        )
    actions = [found[number] for number in wanted]
    served = {area.number: area for action in actions for area in action.priority_areas}
    if priority_area_numbers is None:
        return actions, [served[number] for number in sorted(served)]
    named = sorted(set(priority_area_numbers))
    if not named:
        raise Invalid("Name at least one priority area, or leave priority_areas out", loc=AREAS)
    earlier = (set(areas_linked) & set(named)) - served.keys()
    if earlier:  # linked under the plan before its amendment
        served.update((area.number, area) for area in priority_areas(session, earlier))
    unserved = [number for number in named if number not in served]
    if unserved:
        priority_areas(session, unserved)  # an unknown number gets its own message
        action_list = ", ".join(map(str, wanted))
        raise Invalid(
            f"Priority area {', '.join(map(str, unserved))} is served by none of the "
            f"actions {action_list}; they serve priority areas "
            f"{', '.join(map(str, sorted(served)))}",
            loc=AREAS,
        )
    return actions, [served[number] for number in named]


def relink(
    *,
    session: Session,
    actions: list[Action],
    priority_areas: list[PriorityArea],
    action_numbers: list[int] | None,
    priority_area_numbers: list[int] | None,
) -> tuple[list[Action], list[PriorityArea]]:
    """The links after an edit that names actions, priority areas, or both.

    Actions left out stay as they are linked (retired ones included), and so do actions
    named again as they are, in any order: their priority areas then stay as they are
    too, narrowed ones included, unless named. New actions without priority areas take
    all that they serve.
    """
    linked = [action.number for action in actions]
    if action_numbers is not None and set(action_numbers) == set(linked):
        action_numbers = None
    if action_numbers is None and priority_area_numbers is None:
        return list(actions), list(priority_areas)
    return resolve_links(
        session=session,
        action_numbers=action_numbers if action_numbers is not None else linked,
        priority_area_numbers=priority_area_numbers,
        already_linked=linked,
        areas_linked=[area.number for area in priority_areas] if action_numbers is None else (),
    )
