"""``kep demo``: a fictional programme in an empty database, to try the service out.

Everything goes through the same services as the API, so the demo obeys every rule;
the timeline is laid out around the moment it runs, so phases look right whenever
it is run.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.config import Settings
from app.events import agenda, registrations
from app.events import service as events
from app.events.schemas import AgendaIn, EventCreate, EventTiming
from app.models import EventStatus, Role, User
from app.seminars import agreement, calendar, proposals, scheduling, supports
from app.seminars.schemas import ProposalCreate, SeminarCreate
from app.seminars.wording import INSTITUTION_NAMES

# Each demo account is named by its role, and by its institution or member state.
PEOPLE = [
    ("admin", Role.admin, {}),
    ("secretariat-dg_rtd", Role.secretariat, {"institution": "dg_rtd"}),
    ("secretariat-cor_sedec", Role.secretariat, {"institution": "cor_sedec"}),
    ("secretariat-jrc", Role.secretariat, {"institution": "jrc"}),
    ("member-PT", Role.member, {"member_state": "PT", "region": "Norte"}),
    ("member-IT", Role.member, {"member_state": "IT", "region": "Emilia-Romagna"}),
    ("member-PL", Role.member, {"member_state": "PL", "region": "Małopolska"}),
    ("participant", Role.participant, {}),
]
NAMES = {
    "admin": "Alex Operator",
    "secretariat-dg_rtd": "Rosa Research",
    "secretariat-cor_sedec": "Sam Sedec",
    "secretariat-jrc": "Jonas Centre",
    "member-PT": "Ana Costa",
    "member-IT": "Marco Bianchi",
    "member-PL": "Zofia Nowak",
    "participant": "Pat Participant",
}
BRUSSELS = {
    "name": "Jacques Delors building, room JDE 52",
    "address": "Rue Belliard 99-101",
    "city": "Brussels",
    "country": "BE",
}


class NotEmpty(Exception):
    pass


@dataclass(frozen=True)
class DemoAccount:
    """A demo account as the operator is told of it: its key, who it is, its token."""

    key: str
    user: User
    token: str

    @property
    def who(self) -> str:
        user = self.user
        if user.role == Role.secretariat and user.institution is not None:
            return f"{user.name}, secretariat of {INSTITUTION_NAMES[user.institution]}"
        if user.role == Role.member:
            return f"{user.name}, CoR member for {user.region} ({user.member_state})"
        return f"{user.name}, {user.role}"


def fresh_start(database_url: str) -> str:
    """How to start again from an empty database, said for the database in use."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        files = " ".join(f"{url.database}{suffix}" for suffix in ("", "-wal", "-shm"))
        return f"stop the service, run `rm -f {files}`, then run the demo again"
    return (
        f"stop the service, drop and re-create the database {url.database!r} "
        "(dropdb, createdb), then run the demo again"
    )


def _day(moment: datetime, hour: int) -> datetime:
    """A wall-clock hour on ``moment``'s date, as a naive local time for an event body."""
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=None)


# The agreed seminar of the demo is held this long after the day it is run.
SEMINAR_AHEAD = timedelta(days=21)


def fill(*, session: Session, settings: Settings, now: datetime) -> list[DemoAccount]:
    """Fill an empty database; the demo accounts, each with its API token."""
    if session.scalar(select(User.id).limit(1)) is not None:
        raise NotEmpty(
            "The database already has accounts; kep demo fills an empty one only. To start "
            f"again: {fresh_start(settings.database_url)}"
        )
    made: list[DemoAccount] = []
    for key, role, fields in PEOPLE:
        account = users.create_account(
            session=session,
            data=UserCreate(
                name=NAMES[key], email=f"{key.lower()}@demo.kep.example", role=role, **fields
            ),
            token_label="kep demo",
            now=now,
        )
        made.append(DemoAccount(key=key, user=account.user, token=account.secret))
    accounts = {account.key: account.user for account in made}
    years = settings.plan_years
    # The agreed seminar is held three weeks from now, in the year it belongs to; from
    # outside the plan's term, the story is told on a day of the term's nearest year.
    year = min(max((now + SEMINAR_AHEAD).year, years[0]), years[-1])
    within = (now + SEMINAR_AHEAD).year == year
    told_on = now if within else datetime(year, 6, 1, 9, tzinfo=UTC) - SEMINAR_AHEAD
    _agreed_and_scheduled_seminar(session, settings, accounts, year, told_on)
    if within and year + 1 in years:
        _seminar_taking_proposals(session, settings, accounts, year + 1, now)
    _peer_to_peer_events(session, accounts, now)
    return made


def _agreed_and_scheduled_seminar(
    session: Session, settings: Settings, who: dict[str, User], year: int, now: datetime
) -> None:
    opened, closed, voted = (
        now - timedelta(days=90),
        now - timedelta(days=60),
        now - timedelta(days=30),
    )
    seminar = calendar.create_seminar(
        session=session,
        actor=who["secretariat-cor_sedec"],
        data=SeminarCreate(
            year=year,
            number=2,
            proposals_open_at=opened,
            proposals_close_at=closed,
            voting_close_at=voted,
        ),
        plan_years=settings.plan_years,
        now=opened - timedelta(days=7),
    )
    topics = [
        ("member-PT", "Regional innovation valleys: from pilots to scale", [3, 10], None),
        (
            "member-IT",
            "Health research close to patients: clinical trials in the regions",
            [6],
            None,
        ),
        ("secretariat-dg_rtd", "Knowledge valorisation for regional clusters", [8], [1]),
    ]
    made = []
    for offset, (key, title, actions, areas) in enumerate(topics):
        made.append(
            proposals.submit_proposal(
                session=session,
                actor=who[key],
                seminar_id=seminar.id,
                data=ProposalCreate(
                    title=title,
                    summary=f"{title}: what works, what funds it, what regions need next.",
                    actions=actions,
                    priority_areas=areas,
                ),
                now=opened + timedelta(days=offset + 1),
            )
        )
    votes = {
        "member-PT": [0, 2],
        "member-IT": [1, 0],
        "member-PL": [0],
        "secretariat-jrc": [2],
        "secretariat-dg_rtd": [0],
    }
    for key, picks in votes.items():
        for pick in picks:
            supports.give_support(
                session=session,
                voter=who[key],
                proposal_id=made[pick].id,
                cap=settings.support_cap,
                now=closed + timedelta(days=2),
            )
    for key in ("secretariat-dg_rtd", "secretariat-cor_sedec"):
        agreement.record_choice(
            session=session,
            actor=who[key],
            seminar_id=seminar.id,
            proposal_id=made[0].id,
            now=voted + timedelta(days=3),
        )
    day = now + SEMINAR_AHEAD
    event = scheduling.schedule(
        session=session,
        actor=who["secretariat-cor_sedec"],
        seminar_id=seminar.id,
        timing=EventTiming(
            starts_at=_day(day, 9),
            ends_at=_day(day, 17),
            timezone="Europe/Brussels",
            venue=BRUSSELS,
            online_url="https://webcast.demo.kep.example/seminar",
            capacity=120,
        ),
        status=EventStatus.published,
        now=voted + timedelta(days=5),
    )
    agenda.replace_agenda(
        session=session,
        actor=who["secretariat-cor_sedec"],
        event_id=event.id,
        data=AgendaIn(
            items=[
                {
                    "starts_at": _day(day, 9).replace(minute=30),
                    "ends_at": _day(day, 10),
                    "title": "Opening",
                    "speakers": [{"name": "Chair of the SEDEC commission", "affiliation": "CoR"}],
                },
                {
                    "starts_at": _day(day, 10),
                    "ends_at": _day(day, 12),
                    "title": "Valleys in practice: three regions",
                    "speakers": [
                        {"name": NAMES["member-PT"], "affiliation": "Norte"},
                        {"name": NAMES["member-PL"], "affiliation": "Małopolska"},
                    ],
                },
                {
                    "starts_at": _day(day, 14),
                    "ends_at": _day(day, 16),
                    "title": "Funding the next step: Horizon Europe and cohesion policy",
                    "speakers": [{"name": NAMES["secretariat-dg_rtd"], "affiliation": "DG RTD"}],
                },
            ]
        ),
        now=voted + timedelta(days=6),
    )
    agenda.confirm_agenda(
        session=session,
        actor=who["secretariat-dg_rtd"],
        event_id=event.id,
        now=voted + timedelta(days=7),
    )
    for key in ("participant", "member-IT"):
        registrations.register(session=session, user=who[key], event_id=event.id, now=now)


def _seminar_taking_proposals(
    session: Session, settings: Settings, who: dict[str, User], year: int, now: datetime
) -> None:
    opened = now - timedelta(days=7)
    seminar = calendar.create_seminar(
        session=session,
        actor=who["secretariat-dg_rtd"],
        data=SeminarCreate(
            year=year,
            number=1,
            proposals_open_at=opened,
            proposals_close_at=now + timedelta(days=21),
            voting_close_at=now + timedelta(days=42),
        ),
        plan_years=settings.plan_years,
        now=opened - timedelta(days=1),
    )
    proposals.submit_proposal(
        session=session,
        actor=who["member-PL"],
        seminar_id=seminar.id,
        data=ProposalCreate(
            title="Disaster resilience data for small municipalities",
            summary="Using the Risk Data Hub in local preparedness plans.",
            actions=[9],
        ),
        now=now - timedelta(days=2),
    )


def _peer_to_peer_events(session: Session, who: dict[str, User], now: datetime) -> None:
    day = now + timedelta(days=45)
    porto = events.create_event(
        session=session,
        actor=who["member-PT"],
        data=EventCreate(
            title="Peer learning: smart specialisation in Norte",
            description="A site visit and workshop with the regional innovation agency.",
            starts_at=_day(day, 10),
            ends_at=_day(day + timedelta(days=1), 13),
            timezone="Europe/Lisbon",
            venue={"name": "Alfândega do Porto", "city": "Porto", "country": "PT"},
            capacity=40,
            actions=[1, 10],
        ),
        now=now - timedelta(days=3),
    )
    events.publish_event(
        session=session, actor=who["secretariat-cor_sedec"], event_id=porto.id, now=now
    )
    registrations.register(session=session, user=who["member-IT"], event_id=porto.id, now=now)
    events.create_event(
        session=session,
        actor=who["member-IT"],
        data=EventCreate(
            title="Cultural and creative industries in Emilia-Romagna",
            starts_at=_day(day + timedelta(days=14), 14),
            ends_at=_day(day + timedelta(days=14), 18),
            timezone="Europe/Rome",
            online_url="https://meet.demo.kep.example/cci",
            actions=[7],
        ),
        now=now,
    )
