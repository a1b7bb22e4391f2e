"""A seminar's year, number and dates, and the phase they give at a moment."""

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.common import zones
from app.common.paging import Paged, PageRequest, fetch_page
from app.errors import Conflict, Invalid, NotFound
from app.events.times import instant
from app.models import Proposal, Seminar, SeminarPhase, Support, User
from app.seminars.locks import lock_seminar
from app.seminars.schemas import SeminarCreate, SeminarUpdate
from app.seminars.wording import iso

DATES = ("proposals_open_at", "proposals_close_at", "voting_close_at")
DATE_LABELS = {
    "proposals_open_at": "proposals open",
    "proposals_close_at": "proposals close",
    "voting_close_at": "voting closes",
}


def phase_of(seminar: Seminar, now: datetime, *, drafts_seen: bool = True) -> SeminarPhase:
    """The seminar's phase; to a caller who sees no drafts (``drafts_seen=False``: the
    public, members), one whose event is a draft is agreed, not scheduled."""
    if seminar.event_seen(drafts_seen=drafts_seen) is not None:
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


def next_turn(seminar: Seminar, now: datetime) -> datetime | None:
    """The first of the seminar's dates after ``now``: until then its phase, and who may
    see its tally, stay as they are (unless the seminar itself changes)."""
    coming = [getattr(seminar, name) for name in DATES if getattr(seminar, name) > now]
    return min(coming, default=None)


def _snapshot(seminar: Seminar) -> dict[str, Any]:
    return {
        "year": seminar.year,
        "number": seminar.number,
        **{name: getattr(seminar, name) for name in DATES},
        "timezone": seminar.timezone,
    }


def _check_year(year: int, plan_years: range) -> None:
    if year not in plan_years:
        raise Invalid(
            f"{year} is outside the plan's term, {plan_years[0]}–{plan_years[-1]}; "
            "seminars are held in the plan's years",
            loc=("body", "year"),
        )


def _check_order(dates: dict[str, datetime]) -> None:
    for earlier, later in pairwise(DATES):
        if not dates[earlier] < dates[later]:
            raise Invalid(
                f"{later} ({iso(dates[later])}) must be after {earlier} ({iso(dates[earlier])})",
                loc=("body", later),
            )


def _check_within_year(year: int, number: int, zone_name: str, voting_close_at: datetime) -> None:
    """Voting closes by the end of the seminar's year, in the zone its dates are set in, so
    that the seminar can be agreed and held in the year it belongs to."""
    end = datetime(year + 1, 1, 1, tzinfo=zones.zone(zone_name)).astimezone(UTC)
    if voting_close_at > end:
        raise Invalid(
            f"Voting on Seminar {number} of {year} must close by the end of {year} "
            f"({iso(end)} in {zone_name}); voting_close_at is {iso(voting_close_at)}",
            loc=("body", "voting_close_at"),
        )


def _check_not_passed(dates: dict[str, datetime], now: datetime) -> None:
    for name in DATES:
        if dates[name] < now:
            raise Conflict(
                f"{name} cannot be {iso(dates[name])}, which has passed; dates are set to now "
                f"({iso(now)}) or later"
            )


def _instants(given: dict[str, Any], zone_name: str) -> dict[str, datetime]:
    """The dates among ``given`` as instants: wall-clock times are read in the zone."""
    zone = zones.zone(zone_name)
    return {name: instant(given[name], zone, name) for name in DATES if name in given}


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
    dates = _instants(data.model_dump(), data.timezone)
    _check_order(dates)
    _check_within_year(data.year, data.number, data.timezone, dates["voting_close_at"])
    _check_not_passed(dates, now)
    _check_slot_free(session, data.year, data.number, None)
    seminar = Seminar(
        year=data.year,
        number=data.number,
        **dates,
        timezone=data.timezone,
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


def list_seminars(*, session: Session, year: int | None, page: PageRequest) -> Paged[Seminar]:
    query = (
        select(Seminar)
        .options(selectinload(Seminar.agreements))
        .order_by(Seminar.year, Seminar.number)
    )
    if year is not None:
        query = query.where(Seminar.year == year)
    return fetch_page(session, query, page)


def get_seminar(*, session: Session, seminar_id: int, choices: bool = True) -> Seminar:
    """The seminar, with the institutions' choices unless ``choices`` is false."""
    query = select(Seminar).where(Seminar.id == seminar_id)
    if choices:
        query = query.options(selectinload(Seminar.agreements))
    seminar = session.scalars(query).one_or_none()
    if seminar is None:
        raise NotFound(f"No seminar with id {seminar_id}")
    return seminar


@dataclass(frozen=True)
class Activity:
    """What has happened in a seminar that moving a date already passed could contradict.

    Supports count whether or not they were taken back since: each was given at a moment
    that the dates placed in the voting phase, and its row keeps that moment, so
    reopening an earlier phase would make the record contradict the dates.
    """

    proposals: int
    supports: int
    choices: int

    def closed_by(self, date_name: str) -> str | None:
        """What happened after the moment ``date_name``, said as a clause; None if nothing."""
        if self.supports:
            return f"{self.supports} support(s) were given"
        if self.choices:
            return "an institution has recorded its choice"
        if date_name == "proposals_open_at" and self.proposals:
            return f"{self.proposals} proposal(s) were made"
        return None


def _activity(session: Session, seminar: Seminar) -> Activity:
    in_seminar = Proposal.seminar_id == seminar.id
    return Activity(
        proposals=session.scalar(select(func.count()).select_from(Proposal).where(in_seminar)) or 0,
        supports=session.scalar(
            select(func.count())
            .select_from(Support)
            .join(Proposal, Proposal.id == Support.proposal_id)
            .where(in_seminar)
        )
        or 0,
        choices=sum(agreement.proposal_id is not None for agreement in seminar.agreements),
    )


def update_seminar(
    *,
    session: Session,
    actor: User,
    seminar_id: int,
    data: SeminarUpdate,
    plan_years: range,
    now: datetime,
) -> Seminar:
    """Change a seminar's year, number, dates or zone. An update that changes nothing
    answers the seminar as it stands, whatever its phase."""
    seminar = lock_seminar(session, seminar_id)
    before = _snapshot(seminar)
    changes = data.model_dump(exclude_unset=True)
    changes.update(_instants(changes, changes.get("timezone", seminar.timezone)))
    after = {**before, **changes}
    if after == before:
        return seminar
    if seminar.agreed_at is not None:
        raise Conflict(
            f"The topic of {seminar.label} was agreed on {iso(seminar.agreed_at)}; "
            "its dates are history and no longer change"
        )
    if after["year"] != before["year"]:
        _check_year(after["year"], plan_years)
    _check_order({name: after[name] for name in DATES})
    _check_within_year(after["year"], after["number"], after["timezone"], after["voting_close_at"])
    if (after["year"], after["number"]) != (before["year"], before["number"]):
        _check_slot_free(session, after["year"], after["number"], seminar.id)
    activity: Activity | None = None
    for name in DATES:
        old, new = before[name], after[name]
        if new == old:
            continue
        if new < now:
            # Moving a moment into the past would rewrite what already happened: supports
            # given "after" voting closed, a tally public before its time.
            raise Conflict(
                f"{name} cannot move to {iso(new)}, which has passed; dates only move "
                f"to now ({iso(now)}) or later: to close a phase now, close it with "
                "close-proposals or close-voting"
            )
        if old > now:
            continue  # a date still ahead may move anywhere ahead, in order
        activity = activity or _activity(session, seminar)
        happened = activity.closed_by(name)
        if happened is not None:
            raise Conflict(
                f"{DATE_LABELS[name].capitalize()} happened on {iso(old)} and {happened}; "
                f"moving {name} to {iso(new)} would reopen a closed phase"
            )
    for name, value in changes.items():
        setattr(seminar, name, value)
    seminar.sequence += 1  # its milestones moved: a new version for calendars
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


def close_proposals(*, session: Session, actor: User, seminar_id: int, now: datetime) -> Seminar:
    """Close the call for topics now, which opens voting. Closed already: answered as it
    stands."""
    seminar = lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None or seminar.proposals_close_at <= now:
        return seminar
    if now <= seminar.proposals_open_at:
        raise Conflict(
            f"Proposals for {seminar.label} open on {iso(seminar.proposals_open_at)}; a call "
            "that has not opened cannot close"
        )
    return _close(session, actor, seminar, "proposals_close_at", "seminar.proposals_closed", now)


def close_voting(*, session: Session, actor: User, seminar_id: int, now: datetime) -> Seminar:
    """Close voting now: the tally becomes final and public, and the institutions may
    record their choices. Closed already: answered as it stands."""
    seminar = lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None or seminar.voting_close_at <= now:
        return seminar
    if now <= seminar.proposals_close_at:
        raise Conflict(
            f"Voting on {seminar.label} opens when proposals close, on "
            f"{iso(seminar.proposals_close_at)}; close the call for proposals first"
        )
    return _close(session, actor, seminar, "voting_close_at", "seminar.voting_closed", now)


def _close(
    session: Session, actor: User, seminar: Seminar, date_name: str, action: str, now: datetime
) -> Seminar:
    before = _snapshot(seminar)
    setattr(seminar, date_name, now)
    seminar.sequence += 1  # its milestone moved: a new version for calendars
    seminar.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="seminar",
        entity_id=seminar.id,
        before={date_name: before[date_name]},
        after={date_name: now},
        at=now,
    )
    return seminar
