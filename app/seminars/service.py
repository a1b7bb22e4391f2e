"""The joint seminar cycle: call for topics, proposals, supports, tally, agreement, scheduling.

Every rule that depends on the time takes ``now`` from the caller (the request's clock).
Rules that must hold under concurrency take row locks: the seminar row serialises the
choices of the two institutions and date changes against activity; the voter's row
serialises one voter's supports so that the cap holds.
"""

from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.catalogue.service import relink, resolve_links
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.events import service as events
from app.events.schemas import EventCreate, EventTiming
from app.models import (
    AGREEING_INSTITUTIONS,
    Event,
    Proposal,
    ProposalStatus,
    Role,
    Seminar,
    SeminarAgreement,
    SeminarPhase,
    Support,
    User,
)
from app.seminars.schemas import (
    AgreementRead,
    InstitutionSplit,
    ProposalCreate,
    ProposalRead,
    ProposalUpdate,
    ProposerRead,
    ScheduleSeminar,
    SeminarCreate,
    SeminarRead,
    SeminarUpdate,
    SupportRead,
    TallyEntry,
    TallyRead,
)

DATES = ("proposals_open_at", "proposals_close_at", "voting_close_at")
DATE_LABELS = {
    "proposals_open_at": "proposals open",
    "proposals_close_at": "proposals close",
    "voting_close_at": "voting closes",
}
INSTITUTION_NAMES = {"dg_rtd": "DG RTD", "cor_sedec": "CoR SEDEC", "jrc": "the JRC"}
# A support counts until its voter takes it back; the row stays either way.
STANDING = Support.withdrawn_at.is_(None)


def _at(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else "an unknown date"


def _name(seminar: Seminar) -> str:
    return f"seminar {seminar.number} of {seminar.year}"


# Seminars


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
                f"{later} ({_at(dates[later])}) must be after {earlier} ({_at(dates[earlier])})"
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


def _lock_seminar(session: Session, seminar_id: int, *, shared: bool = False) -> Seminar:
    """The seminar, re-read under a row lock held until the transaction ends.

    Exclusive for changes to the seminar itself (dates, agreement, scheduling); shared
    for activity that depends on its dates (proposals, supports), so such activity and
    a date change never interleave.
    """
    seminar = session.scalars(
        select(Seminar)
        .where(Seminar.id == seminar_id)
        .with_for_update(read=shared)
        .options(selectinload(Seminar.agreements))
        .execution_options(populate_existing=True)
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
    seminar = _lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None:
        raise Conflict(
            f"The topic of {_name(seminar)} was agreed on {_at(seminar.agreed_at)}; "
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
                f"{name} cannot move to {_at(new)}, which has passed; dates only move "
                f"to now ({_at(now)}) or later"
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
                f"{DATE_LABELS[name].capitalize()} happened on {_at(old)} and {activity}; "
                f"moving {name} to {_at(new)} would reopen a closed phase"
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


# Proposals


def _proposals_open(seminar: Seminar, now: datetime, doing: str) -> None:
    if seminar.agreed_at is None and seminar.proposals_open_at <= now < seminar.proposals_close_at:
        return
    when = "open on" if now < seminar.proposals_open_at else "were open from"
    raise Conflict(
        f"Proposals for {_name(seminar)} {when} {_at(seminar.proposals_open_at)} until "
        f"{_at(seminar.proposals_close_at)}; {doing} only while they are open"
    )


def _proposal_snapshot(proposal: Proposal) -> dict[str, Any]:
    return {
        "title": proposal.title,
        "summary": proposal.summary,
        "actions": proposal.action_numbers,
        "priority_areas": proposal.priority_area_numbers,
        "status": proposal.status,
    }


def _proposal_query() -> Select[Proposal]:
    return select(Proposal).options(
        selectinload(Proposal.proposer),
        selectinload(Proposal.actions),
        selectinload(Proposal.priority_areas),
    )


def get_proposal(*, session: Session, proposal_id: int) -> Proposal:
    proposal = session.scalars(_proposal_query().where(Proposal.id == proposal_id)).one_or_none()
    if proposal is None:
        raise NotFound(f"No proposal with id {proposal_id}")
    return proposal


def list_proposals(
    *, session: Session, seminar: Seminar, status: ProposalStatus | None = None
) -> list[Proposal]:
    query = (
        _proposal_query()
        .where(Proposal.seminar_id == seminar.id)
        .order_by(Proposal.submitted_at, Proposal.id)
    )
    if status is not None:
        query = query.where(Proposal.status == status)
    return list(session.scalars(query))


def submit_proposal(
    *, session: Session, actor: User, seminar_id: int, data: ProposalCreate, now: datetime
) -> Proposal:
    seminar = _lock_seminar(session, seminar_id, shared=True)
    _proposals_open(seminar, now, "topics are proposed")
    actions, areas = resolve_links(
        session=session, action_numbers=data.actions, priority_area_numbers=data.priority_areas
    )
    proposal = Proposal(
        seminar_id=seminar.id,
        proposer_id=actor.id,
        title=data.title,
        summary=data.summary,
        status=ProposalStatus.submitted,
        submitted_at=now,
        updated_at=now,
        actions=actions,
        priority_areas=areas,
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="proposal.submitted",
        entity_type="proposal",
        entity_id=proposal.id,
        after={"seminar_id": seminar.id, **_proposal_snapshot(proposal)},
        at=now,
    )
    return proposal


def _own_open_proposal(
    session: Session, actor: User, proposal_id: int, now: datetime, doing: str
) -> Proposal:
    proposal = get_proposal(session=session, proposal_id=proposal_id)
    if proposal.proposer_id != actor.id:
        raise Forbidden(
            f"Only the proposer, {proposal.proposer.name}, may {doing} proposal {proposal.id}"
        )
    seminar = _lock_seminar(session, proposal.seminar_id, shared=True)
    # Re-read under a row lock: two edits or withdrawals of one proposal queue here.
    proposal = session.scalars(
        _proposal_query()
        .where(Proposal.id == proposal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if proposal.status == ProposalStatus.withdrawn:
        raise Conflict(f"Proposal {proposal.id} was withdrawn on {_at(proposal.withdrawn_at)}")
    _proposals_open(seminar, now, f"the proposer may {doing} it")
    return proposal


def update_proposal(
    *, session: Session, actor: User, proposal_id: int, data: ProposalUpdate, now: datetime
) -> Proposal:
    proposal = _own_open_proposal(session, actor, proposal_id, now, "edit")
    before = _proposal_snapshot(proposal)
    changes = data.model_dump(exclude_unset=True)
    if "actions" in changes or "priority_areas" in changes:
        proposal.actions, proposal.priority_areas = relink(
            session=session,
            linked=proposal.action_numbers,
            action_numbers=data.actions,
            priority_area_numbers=data.priority_areas,
        )
    for name in ("title", "summary"):
        if name in changes:
            setattr(proposal, name, changes[name])
    after = _proposal_snapshot(proposal)
    if after == before:
        raise Invalid(f"Proposal {proposal.id} already stands as given; nothing to change")
    proposal.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="proposal.updated",
        entity_type="proposal",
        entity_id=proposal.id,
        before=before,
        after=after,
        at=now,
    )
    return proposal


def withdraw_proposal(
    *, session: Session, actor: User, proposal_id: int, now: datetime
) -> Proposal:
    proposal = _own_open_proposal(session, actor, proposal_id, now, "withdraw")
    proposal.status = ProposalStatus.withdrawn
    proposal.withdrawn_at = now
    proposal.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="proposal.withdrawn",
        entity_type="proposal",
        entity_id=proposal.id,
        before={"status": ProposalStatus.submitted},
        after={"status": ProposalStatus.withdrawn},
        at=now,
    )
    return proposal


def tally_visible(seminar: Seminar, viewer: User | None, now: datetime) -> bool:
    if viewer is not None and viewer.role == Role.secretariat:
        return True
    return now >= seminar.voting_close_at or seminar.agreed_at is not None


def _support_counts(session: Session, proposal_ids: Iterable[int]) -> dict[int, int]:
    ids = list(proposal_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Support.proposal_id, func.count())
        .where(Support.proposal_id.in_(ids), STANDING)
        .group_by(Support.proposal_id)
    )
    return {row[0]: row[1] for row in rows}


def describe_proposals(
    *, session: Session, proposals: list[Proposal], viewer: User | None, now: datetime
) -> list[ProposalRead]:
    """Response bodies, with the support counts where the viewer may see the tally.

    Two queries at most, however many proposals: one grouped count, one for the
    viewer's own supports.
    """
    seminars = {proposal.seminar_id: proposal.seminar for proposal in proposals}
    visible = {
        seminar_id
        for seminar_id, seminar in seminars.items()
        if tally_visible(seminar, viewer, now)
    }
    counts = _support_counts(
        session, (proposal.id for proposal in proposals if proposal.seminar_id in visible)
    )
    mine: set[int] = set()
    if viewer is not None and proposals:
        mine = set(
            session.scalars(
                select(Support.proposal_id).where(
                    Support.voter_id == viewer.id,
                    Support.proposal_id.in_([proposal.id for proposal in proposals]),
                    STANDING,
                )
            )
        )
    return [
        ProposalRead(
            id=proposal.id,
            seminar_id=proposal.seminar_id,
            title=proposal.title,
            summary=proposal.summary,
            actions=proposal.action_numbers,
            priority_areas=proposal.priority_area_numbers,
            proposer=ProposerRead.model_validate(proposal.proposer),
            status=ProposalStatus(proposal.status),
            submitted_at=proposal.submitted_at,
            updated_at=proposal.updated_at,
            withdrawn_at=proposal.withdrawn_at,
            supports=counts.get(proposal.id, 0) if proposal.seminar_id in visible else None,
            supported_by_me=(proposal.id in mine) if viewer is not None else None,
        )
        for proposal in proposals
    ]


# Supports


def _voting_open(seminar: Seminar, now: datetime) -> None:
    if seminar.agreed_at is None and seminar.proposals_close_at <= now < seminar.voting_close_at:
        return
    when = "opens on" if now < seminar.proposals_close_at else "was open from"
    raise Conflict(
        f"Voting on {_name(seminar)} {when} {_at(seminar.proposals_close_at)} until "
        f"{_at(seminar.voting_close_at)}; supports are given or taken back only while it is open"
    )


def _supports_given(session: Session, voter: User, seminar: Seminar) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Support)
            .join(Proposal, Proposal.id == Support.proposal_id)
            .where(Support.voter_id == voter.id, Proposal.seminar_id == seminar.id, STANDING)
        )
        or 0
    )


def give_support(
    *, session: Session, voter: User, proposal_id: int, cap: int, now: datetime
) -> SupportRead:
    """Support a proposal; supporting it again changes nothing."""
    proposal = get_proposal(session=session, proposal_id=proposal_id)
    seminar = _lock_seminar(session, proposal.seminar_id, shared=True)
    _voting_open(seminar, now)
    if proposal.status == ProposalStatus.withdrawn:
        raise Conflict(f"Proposal {proposal.id} was withdrawn; it takes no supports")
    # One voter's supports queue here, so the count below is the truth when we write.
    session.execute(select(User.id).where(User.id == voter.id).with_for_update())
    support = session.scalars(
        select(Support).where(Support.proposal_id == proposal.id, Support.voter_id == voter.id)
    ).one_or_none()
    given = _supports_given(session, voter, seminar)
    if support is None or support.withdrawn_at is not None:
        if given >= cap:
            raise Conflict(
                f"You already support {given} proposals in {_name(seminar)}, the cap of "
                f"{cap} supports per voter; take one back to support this one"
            )
        if support is None:
            support = Support(proposal_id=proposal.id, voter_id=voter.id)
            session.add(support)
        support.affiliation = voter.affiliation
        support.created_at = now
        support.withdrawn_at = None
        session.flush()
        given += 1
        audit.record(
            session=session,
            actor=voter,
            action="support.given",
            entity_type="proposal",
            entity_id=proposal.id,
            after={"voter_id": voter.id, "affiliation": support.affiliation},
            at=now,
        )
    return SupportRead(
        proposal_id=proposal.id,
        seminar_id=seminar.id,
        affiliation=support.affiliation,
        created_at=support.created_at,
        supports_given=given,
        support_cap=cap,
    )


def take_back_support(*, session: Session, voter: User, proposal_id: int, now: datetime) -> None:
    """Take a support back; taking back one not given changes nothing."""
    proposal = get_proposal(session=session, proposal_id=proposal_id)
    seminar = _lock_seminar(session, proposal.seminar_id, shared=True)
    _voting_open(seminar, now)
    session.execute(select(User.id).where(User.id == voter.id).with_for_update())
    support = session.scalars(
        select(Support).where(Support.proposal_id == proposal.id, Support.voter_id == voter.id)
    ).one_or_none()
    if support is None or support.withdrawn_at is not None:
        return
    support.withdrawn_at = now  # kept, as everything a user made is
    session.flush()
    audit.record(
        session=session,
        actor=voter,
        action="support.withdrawn",
        entity_type="proposal",
        entity_id=proposal.id,
        before={"voter_id": voter.id, "affiliation": support.affiliation},
        at=now,
    )


# Tally


def tally(*, session: Session, seminar: Seminar, viewer: User | None, now: datetime) -> TallyRead:
    if not tally_visible(seminar, viewer, now):
        raise Forbidden(
            f"The tally of {_name(seminar)} is visible to the secretariat, and to everyone "
            f"once voting closes on {_at(seminar.voting_close_at)}"
        )
    proposals = session.execute(
        select(Proposal.id, Proposal.title, Proposal.status, Proposal.submitted_at).where(
            Proposal.seminar_id == seminar.id, Proposal.status != ProposalStatus.withdrawn
        )
    ).all()
    split: dict[int, dict[str, int]] = {
        row.id: dict.fromkeys(InstitutionSplit.model_fields, 0) for row in proposals
    }
    rows = session.execute(
        select(Support.proposal_id, Support.affiliation, func.count())
        .join(Proposal, Proposal.id == Support.proposal_id)
        .where(Proposal.seminar_id == seminar.id, STANDING)
        .group_by(Support.proposal_id, Support.affiliation)
    )
    for proposal_id, affiliation, count in rows:
        if proposal_id in split:
            split[proposal_id][affiliation] = count
    voters = session.scalar(
        select(func.count(func.distinct(Support.voter_id)))
        .join(Proposal, Proposal.id == Support.proposal_id)
        .where(Proposal.seminar_id == seminar.id, STANDING)
    )
    entries = [
        TallyEntry(
            proposal_id=row.id,
            title=row.title,
            status=ProposalStatus(row.status),
            submitted_at=row.submitted_at,
            supports=sum(split[row.id].values()),
            by_institution=InstitutionSplit(**split[row.id]),
        )
        for row in proposals
    ]
    entries.sort(key=lambda entry: (-entry.supports, entry.submitted_at, entry.proposal_id))
    return TallyRead(
        seminar_id=seminar.id,
        phase=phase_of(seminar, now),
        final=now >= seminar.voting_close_at,
        voters=voters or 0,
        proposals=entries,
    )


# The joint agreement


def _agreeing_institution(actor: User) -> str:
    if actor.institution not in AGREEING_INSTITUTIONS:
        who = INSTITUTION_NAMES.get(actor.institution or "", actor.role)
        raise Forbidden(f"Only DG RTD and CoR SEDEC agree seminar topics; you speak for {who}")
    return actor.institution


def _open_for_agreement(seminar: Seminar, now: datetime) -> None:
    if seminar.agreed_at is not None:
        raise Conflict(
            f"DG RTD and CoR SEDEC agreed the topic of {_name(seminar)} on "
            f"{_at(seminar.agreed_at)} (proposal {seminar.agreed_proposal_id}); "
            "the choices are locked"
        )
    if now < seminar.voting_close_at:
        raise Conflict(
            f"Voting on {_name(seminar)} closes on {_at(seminar.voting_close_at)}; the "
            "institutions record their choices after that"
        )


def _set_choice(
    session: Session,
    actor: User,
    seminar: Seminar,
    institution: str,
    proposal_id: int | None,
    now: datetime,
) -> bool:
    """Record (or with None, withdraw) an institution's choice; False if it stood already."""
    choice = next((a for a in seminar.agreements if a.institution == institution), None)
    before = choice.proposal_id if choice is not None else None
    if before == proposal_id:
        return False
    if choice is None:
        choice = SeminarAgreement(institution=institution, recorded_by_id=actor.id)
        seminar.agreements.append(choice)
    choice.proposal_id = proposal_id
    choice.recorded_by_id = actor.id
    choice.recorded_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="agreement.recorded" if proposal_id is not None else "agreement.withdrawn",
        entity_type="seminar",
        entity_id=seminar.id,
        before={"institution": institution, "proposal_id": before},
        after={"institution": institution, "proposal_id": proposal_id},
        at=now,
    )
    return True


def record_choice(
    *, session: Session, actor: User, seminar_id: int, proposal_id: int, now: datetime
) -> Seminar:
    institution = _agreeing_institution(actor)
    # Both institutions' choices are read and written under this lock, so two choices
    # made at the same moment are seen one after the other, never half.
    seminar = _lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None and seminar.choice_of(institution) == proposal_id:
        return seminar  # the same choice again: nothing changes
    _open_for_agreement(seminar, now)
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.seminar_id != seminar.id:
        raise Invalid(
            f"Proposal {proposal_id} is not a proposal of {_name(seminar)}; see "
            f"GET /seminars/{seminar.id}/proposals"
        )
    if proposal.status != ProposalStatus.submitted:
        raise Conflict(f"Proposal {proposal.id} is {proposal.status}; choose a submitted one")
    if not _set_choice(session, actor, seminar, institution, proposal.id, now):
        return seminar
    other = next(name for name in AGREEING_INSTITUTIONS if name != institution)
    if seminar.choice_of(other) == proposal.id:
        _agree(session, actor, seminar, proposal, now)
    return seminar


def _agree(
    session: Session, actor: User, seminar: Seminar, agreed: Proposal, now: datetime
) -> None:
    seminar.agreed_at = now
    seminar.updated_at = now
    proposals = session.scalars(select(Proposal).where(Proposal.seminar_id == seminar.id))
    for proposal in proposals:
        if proposal.status != ProposalStatus.submitted:
            continue
        status = ProposalStatus.agreed if proposal.id == agreed.id else ProposalStatus.not_selected
        proposal.status = status
        proposal.updated_at = now
        audit.record(
            session=session,
            actor=actor,
            action=f"proposal.{status}",
            entity_type="proposal",
            entity_id=proposal.id,
            before={"status": ProposalStatus.submitted},
            after={"status": status},
            at=now,
        )
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="seminar.agreed",
        entity_type="seminar",
        entity_id=seminar.id,
        after={"agreed_proposal_id": agreed.id, "title": agreed.title},
        at=now,
    )


def withdraw_choice(*, session: Session, actor: User, seminar_id: int, now: datetime) -> Seminar:
    """Withdraw the institution's choice; withdrawing when none is recorded changes nothing."""
    institution = _agreeing_institution(actor)
    seminar = _lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None:
        _open_for_agreement(seminar, now)
    _set_choice(session, actor, seminar, institution, None, now)
    return seminar


# Scheduling


def schedule(
    *, session: Session, actor: User, seminar_id: int, data: ScheduleSeminar, now: datetime
) -> Event:
    """Create the agreed seminar's `joint_seminar` event, through the events service."""
    seminar = _lock_seminar(session, seminar_id)
    if seminar.event_id is not None:
        raise Conflict(
            f"{_name(seminar).capitalize()} is already scheduled as event {seminar.event_id}"
        )
    if seminar.agreed_at is None:
        raise Conflict(
            f"{_name(seminar).capitalize()} is in its {phase_of(seminar, now)} phase; only a "
            "seminar whose topic DG RTD and CoR SEDEC agreed can be scheduled"
        )
    topic_id = seminar.agreed_proposal_id
    if topic_id is None:  # agreed means both chose it; a withdrawn choice cannot be agreed
        raise Conflict(f"{_name(seminar).capitalize()} has no agreed topic to schedule")
    topic = get_proposal(session=session, proposal_id=topic_id)
    try:
        event_data = EventCreate(
            **{name: getattr(data, name) for name in EventTiming.model_fields},
            title=topic.title,
            description=topic.summary,
            kind="joint_seminar",
            actions=topic.action_numbers,
            priority_areas=topic.priority_area_numbers,
            status=data.status,
        )
    except ValidationError as error:
        problem = error.errors()[0]
        raise Invalid(f"The agreed topic cannot become an event: {problem['msg']}") from None
    event = events.create_event(
        session=session,
        actor=actor,
        data=event_data,
        now=now,
        inherited_actions=topic.action_numbers,
    )
    seminar.event_id = event.id
    seminar.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="seminar.scheduled",
        entity_type="seminar",
        entity_id=seminar.id,
        before={"event_id": None},
        after={"event_id": event.id, "proposal_id": topic.id},
        at=now,
    )
    return event
