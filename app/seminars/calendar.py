"""A seminar's year, number and dates, and the phase they give at a moment."""

from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.errors import Conflict, Invalid, NotFound
from app.models import (
    Proposal,
    Seminar,
    SeminarPhase,
    Support,
    User,
)
from app.seminars.locks import lock_seminar
from app.seminars.schemas import (
    AgreementRead,
    SeminarCreate,
    SeminarRead,
    SeminarUpdate,
)
from app.seminars.wording import iso, label

DATES = ("proposals_open_at", "proposals_close_at", "voting_close_at")
DATE_LABELS = {
    "proposals_open_at": "proposals open",
    "proposals_close_at": "proposals close",
    "voting_close_at": "voting closes",
}


def phase_of(seminar: Seminar, now: datetime) -> SeminarPhase:
    if seminar.event_id is not None:
        return SeminarPhase.scheduled
    if seminar.agreed_at is not None:
        return SeminarPhase.agreed
    if now < seminar.proposals_open_at:
        return SeminarPhase.upcoming
    if now < seminar.proposals_close_at:
        return SeminarPhase.proposals
    if now < seminar.voting_close_at:
        return SeminarPhase.voting
    return SeminarPhase.agreement


def describe_seminar(seminar: Seminar, now: datetime) -> SeminarRead:
    return SeminarRead(
        id=seminar.id,
        year=seminar.year,
        number=seminar.number,
        proposals_open_at=seminar.proposals_open_at,
        proposals_close_at=seminar.proposals_close_at,
        voting_close_at=seminar.voting_close_at,
        phase=phase_of(seminar, now),
        agreement=AgreementRead(
            dg_rtd=seminar.choice_of("dg_rtd"),
            cor_sedec=seminar.choice_of("cor_sedec"),
            agreed_proposal_id=seminar.agreed_proposal_id,
        ),
        agreed_at=seminar.agreed_at,
        event_id=seminar.event_id,
        created_at=seminar.created_at,
        updated_at=seminar.updated_at,
    )


def _snapshot(seminar: Seminar) -> dict[str, Any]:
    return {
        "year": seminar.year,
        "number": seminar.number,
        **{name: getattr(seminar, name) for name in DATES},
    }


def _check_year(year: int, plan_years: range) -> None:
    if year not in plan_years:
        raise Invalid(
            f"{year} is outside the plan's term, {plan_years[0]}–{plan_years[-1]}; "
            "seminars are held in the plan's years"
        )


def _check_order(dates: dict[str, datetime]) -> None:
    for earlier, later in pairwise(DATES):
        if not dates[earlier] < dates[later]:
            raise Invalid(
                f"{later} ({iso(dates[later])}) must be after {earlier} ({iso(dates[earlier])})"
            )


def _check_slot_free(session: Session, year: int, number: int, seminar_id: int | None) -> None:
    taken = session.scalar(select(Seminar.id).where(Seminar.year == year, Seminar.number == number))
    if taken is not None and taken != seminar_id:
        raise Conflict(
            f"Seminar {number} of {year} already exists (id {taken}); a year has at most two "
            "seminars, numbered 1 and 2"
        )


def create_seminar(
    *, session: Session, actor: User, data: SeminarCreate, plan_years: range, now: datetime
) -> Seminar:
    _check_year(data.year, plan_years)
    dates = {name: getattr(data, name) for name in DATES}
    _check_order(dates)
    _check_slot_free(session, data.year, data.number, None)
    seminar = Seminar(
        year=data.year,
        number=data.number,
        **dates,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        agreements=[],
    )
    session.add(seminar)
    session.flush()  # the unique (year, number) settles a race here, as a 409
    audit.record(
        session=session,
        actor=actor,
        action="seminar.created",
        entity_type="seminar",
        entity_id=seminar.id,
        after=_snapshot(seminar),
        at=now,
    )
    return seminar


def list_seminars(*, session: Session, year: int | None = None) -> list[Seminar]:
    query = (
        select(Seminar)
        .options(selectinload(Seminar.agreements))
        .order_by(Seminar.year, Seminar.number)
    )
    if year is not None:
        query = query.where(Seminar.year == year)
    return list(session.scalars(query))


def get_seminar(*, session: Session, seminar_id: int) -> Seminar:
    seminar = session.scalars(
        select(Seminar).where(Seminar.id == seminar_id).options(selectinload(Seminar.agreements))
    ).one_or_none()
    if seminar is None:
        raise NotFound(f"No seminar with id {seminar_id}")
    return seminar


def _has_activity(session: Session, seminar: Seminar) -> str | None:
    """What already happened in the seminar that a reopened phase would contradict."""
    supports = session.scalar(
        select(func.count())
        .select_from(Support)
        .join(Proposal, Proposal.id == Support.proposal_id)
        .where(Proposal.seminar_id == seminar.id)
    )
    if supports:
        return f"{supports} support(s) were given"
    if any(agreement.proposal_id is not None for agreement in seminar.agreements):
        return "an institution has recorded its choice"
    return None


def update_seminar(
    *,
    session: Session,
    actor: User,
    seminar_id: int,
    data: SeminarUpdate,
    plan_years: range,
    now: datetime,
) -> Seminar:
    seminar = lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None:
        raise Conflict(
            f"The topic of {label(seminar)} was agreed on {iso(seminar.agreed_at)}; "
            "its dates are history and no longer change"
        )
    before = _snapshot(seminar)
    changes = data.model_dump(exclude_unset=True)
    after = {**before, **changes}
    if after == before:
        raise Invalid(f"Seminar {seminar.id} already stands as given; nothing to change")
    if after["year"] != before["year"]:
        _check_year(after["year"], plan_years)
    _check_order({name: after[name] for name in DATES})
    if (after["year"], after["number"]) != (before["year"], before["number"]):
        _check_slot_free(session, after["year"], after["number"], seminar.id)
    for name in DATES:
        old, new = before[name], after[name]
        if new == old:
            continue
        if new < now:
            # Moving a moment into the past would rewrite what already happened: supports
            # given "after" voting closed, a tally public before its time.
            raise Conflict(
                f"{name} cannot move to {iso(new)}, which has passed; dates only move "
                f"to now ({iso(now)}) or later"
            )
        if old > now:
            continue  # a date still ahead may move anywhere ahead, in order
        activity = _has_activity(session, seminar)
        if name == "proposals_open_at" and activity is None:
            made = session.scalar(
                select(func.count()).select_from(Proposal).where(Proposal.seminar_id == seminar.id)
            )
            activity = f"{made} proposal(s) were made" if made else None
        if activity is not None:
            raise Conflict(
                f"{DATE_LABELS[name].capitalize()} happened on {iso(old)} and {activity}; "
                f"moving {name} to {iso(new)} would reopen a closed phase"
            )
    for name, value in changes.items():
        setattr(seminar, name, value)
    seminar.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="seminar.updated",
        entity_type="seminar",
        entity_id=seminar.id,
        before=before,
        after=_snapshot(seminar),
        at=now,
    )
    return seminar
