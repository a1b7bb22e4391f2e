"""How the monitoring reports scale with the programme: time per request and SQL statements.

    .venv/bin/python benchmarks/reports.py [--database-url URL] [--sizes 1000 10000]

Fills the database with programmes of growing size over the plan's four years (events of
every kind and status, hosted from many regions, linked to one to three actions, with
registrations and waitlists, and the years' seminars), then prints, for each size, the
mean and median time of the coverage report (one year, the whole term, as CSV, as a
chart), of the stocktaking export and of the seminars' history, with the number of SQL
statements each sends. `GET /events?limit=50` is the reference in the same run. The
default database is a fresh SQLite file; a PostgreSQL URL must name an empty database.
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import event, insert

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.cli import migrate
from app.config import Settings
from app.main import create_app
from app.models import Event, EventKind, EventStatus, Registration, RegistrationStatus, Role
from app.models.events import event_actions, event_priority_areas
from app.seminars import calendar
from app.seminars.schemas import SeminarCreate

NOW = datetime(2027, 7, 1, 9, tzinfo=UTC)  # the middle of the term: events held and upcoming
ZONES = ["Europe/Brussels", "Europe/Lisbon", "Europe/Helsinki", "Atlantic/Azores", "UTC"]
COUNTRIES = ["BE", "PT", "FI", "PT", "IE"]
STATES = ["PT", "BE", "IT", "PL", "DE", "FR", "ES", "NL", "AT", "SE"]
ACTION_AREAS = {
    1: [1, 2, 3, 4],
    2: [1],
    3: [1, 2, 3],
    4: [1, 2, 3],
    5: [1],
    6: [1],
    7: [1, 3],
    8: [1, 3],
    9: [4],
    10: [1, 2, 3, 4],
    11: [2],
}
KINDS = [EventKind.peer_to_peer, EventKind.peer_to_peer, EventKind.other, EventKind.joint_seminar]
STATUSES = [EventStatus.published] * 7 + [EventStatus.cancelled, EventStatus.draft]
PEOPLE = 300


def accounts(app) -> tuple[int, list[int], list[int], str]:
    """The staff who create events, the hosts, the registrants, and a reader's token."""
    with app.state.sessionmaker.begin() as session:
        staff = users.create_user(
            session=session,
            actor=None,
            data=UserCreate(
                name="Bench", email="bench@example.eu", role=Role.secretariat, institution="jrc"
            ),
            now=NOW,
        )
        hosts = [
            users.create_user(
                session=session,
                actor=None,
                data=UserCreate(
                    name=f"Host {n}",
                    email=f"host{n}@example.eu",
                    role=Role.member,
                    member_state=STATES[n % len(STATES)],
                    region=f"Region {n}",
                ),
                now=NOW,
            ).id
            for n in range(60)
        ]
        people = [
            users.create_user(
                session=session,
                actor=None,
                data=UserCreate(name=f"P{n}", email=f"p{n}@example.eu", role=Role.participant),
                now=NOW,
            ).id
            for n in range(PEOPLE)
        ]
        reader = users.create_account(
            session=session,
            data=UserCreate(
                name="Reader", email="reader@example.eu", role=Role.secretariat, institution="jrc"
            ),
            token_label="benchmark",
            now=NOW,
        )
        for year in range(2026, 2030):
            for number in (1, 2):
                opens = datetime(year - 1, 4 * number, 1, tzinfo=UTC)
                calendar.create_seminar(
                    session=session,
                    actor=staff,
                    data=SeminarCreate(
                        year=year,
                        number=number,
                        proposals_open_at=opens,
                        proposals_close_at=opens + timedelta(days=30),
                        voting_close_at=opens + timedelta(days=45),
                    ),
                    plan_years=range(2026, 2030),
                    now=opens,  # opened as its call opens: the dates are not past
                )
        return staff.id, hosts, people, reader.secret


def fill(
    app, staff: int, hosts: list[int], people: list[int], count: int, start: int, analyze: bool
) -> None:
    """``count`` events spread over the four years, written in bulk."""
    events, actions, areas, registrations = [], [], [], []
    term = (datetime(2030, 1, 1, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC)).days
    for n in range(start, start + count):
        starts_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            days=(n * 7919) % term, hours=8 + n % 10
        )
        zone = ZONES[n % len(ZONES)]
        kind = KINDS[n % len(KINDS)]
        status = STATUSES[n % len(STATUSES)]
        event_id = n + 1
        events.append(
            {
                "id": event_id,
                "title": f"Event {n}",
                "description": "",
                "kind": kind,
                "status": status,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=3 + 24 * (n % 3)),
                "timezone": zone,
                "local_start_year": starts_at.astimezone(ZoneInfo(zone)).year,
                "venue_name": "Hall",
                "venue_city": "City",
                "venue_country": COUNTRIES[n % len(COUNTRIES)],
                "capacity": 10,
                "host_id": hosts[n % len(hosts)] if kind == EventKind.peer_to_peer else None,
                "created_by_id": staff,
                "sequence": 0,
                "created_at": NOW,
                "updated_at": NOW,
                "published_at": NOW if status != EventStatus.draft else None,
            }
        )
        linked = sorted({1 + n % 11, 1 + (n * 3 + 1) % 11, 1 + (n * 7 + 2) % 11})[: 1 + n % 3]
        actions += [{"event_id": event_id, "action_number": a} for a in linked]
        served = sorted({area for a in linked for area in ACTION_AREAS[a]})
        areas += [{"event_id": event_id, "priority_area_number": p} for p in served]
        for place in range(n % 14):
            registrations.append(
                {
                    "event_id": event_id,
                    "user_id": people[(n * 13 + place) % len(people)],
                    "status": RegistrationStatus.registered
                    if place < 10
                    else RegistrationStatus.waitlisted,
                    "queue_number": place + 1,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
    with app.state.sessionmaker.begin() as session:
        session.execute(insert(Event), events)
        session.execute(insert(event_actions), actions)
        session.execute(insert(event_priority_areas), areas)
        session.execute(insert(Registration), registrations)
    if not analyze:
        return
    # As a live database's statistics would be after autovacuum (PostgreSQL) or an
    # ANALYZE (SQLite): the planner then knows the tables' sizes.
    with app.state.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def measure(client: TestClient, engine, path: str, headers: dict, rounds: int) -> tuple:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    response = client.get(path, headers=headers)
    event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return statistics.mean(timings), statistics.median(timings), len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="measure right after the bulk load, before the database has statistics",
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    settings = Settings(database_url=url, send_mail_in_process=False, _env_file=None)  # type: ignore[call-arg]
    migrate(settings)
    app = create_app(settings)
    app.state.clock = lambda: NOW
    staff, hosts, people, secret = accounts(app)
    reader = {"Authorization": f"Bearer {secret}"}
    requests = [
        ("GET /events?limit=50 (reference)", "/events?limit=50"),
        ("GET /reports/coverage?year=2027", "/reports/coverage?year=2027"),
        ("GET /reports/coverage (whole term)", "/reports/coverage"),
        ("GET /reports/coverage?format=csv", "/reports/coverage?format=csv"),
        ("GET /reports/coverage?year=2027&format=svg", "/reports/coverage?year=2027&format=svg"),
        (
            "GET /reports/events?from=2027-01-01&to=2027-04-01",
            "/reports/events?from=2027-01-01&to=2027-04-01",
        ),
        ("GET /reports/seminars", "/reports/seminars"),
    ]
    statistics_note = "no statistics" if args.no_analyze else "analyzed"
    print(f"database: {url.split(':', 1)[0]} ({statistics_note}), {args.rounds} rounds per figure")
    print(f"{'events':>7}  {'request':<50} {'mean ms':>8} {'median ms':>9} {'queries':>7}")
    existing = 0
    with TestClient(app) as client:
        for size in sorted(args.sizes):
            fill(app, staff, hosts, people, size - existing, existing, not args.no_analyze)
            existing = size
            for label, path in requests:
                mean, median, queries = measure(client, app.state.engine, path, reader, args.rounds)
                print(f"{size:>7}  {label:<50} {mean:>8.1f} {median:>9.1f} {queries:>7}")
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
