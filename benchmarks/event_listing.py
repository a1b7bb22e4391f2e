"""How listing events scales with the number of events: time per request and SQL queries.

    .venv/bin/python benchmarks/event_listing.py [--database-url URL] [--sizes 100 2000]

Prints, for each size of programme, the mean and median time of `GET /events?limit=50`
(anonymous, and as the secretariat) and of `GET /events/{id}`, with the number of SQL
statements each sends. Compare the rows of one run with each other; absolute times
depend on the machine. The default database is a fresh SQLite file.
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.cli import migrate
from app.config import Settings
from app.events import registrations
from app.events import service as events
from app.events.schemas import EventCreate
from app.main import create_app
from app.models import Role

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def fill(app, count: int, start: int) -> None:
    with app.state.sessionmaker.begin() as session:
        staff = users.create_user(
            session=session,
            actor=None,
            data=UserCreate(
                name="Bench",
                email=f"bench{start}@example.eu",
                role=Role.secretariat,
                institution="cor_sedec",
            ),
            now=NOW,
        )
        people = [
            users.create_user(
                session=session,
                actor=None,
                data=UserCreate(
                    name=f"P{n}", email=f"p{start}-{n}@example.eu", role=Role.participant
                ),
                now=NOW,
            )
            for n in range(5)
        ]
        for n in range(start, start + count):
            day = NOW + timedelta(days=30 + n % 700, hours=n % 8)
            created = events.create_event(
                session=session,
                actor=staff,
                data=EventCreate(
                    title=f"Event {n}",
                    kind="other",
                    status="published",
                    starts_at=day,
                    ends_at=day + timedelta(hours=3),
                    timezone="Europe/Brussels",
                    venue={"name": "Hall", "city": "Brussels", "country": "BE"},
                    capacity=3,
                    actions=[1 + n % 11, 1 + (n + 3) % 11],
                ),
                now=NOW,
            )
            for person in people:
                registrations.register(session=session, user=person, event_id=created.id, now=NOW)


def measure(client: TestClient, engine, path: str, headers: dict, rounds: int) -> tuple:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    client.get(path, headers=headers)
    event.remove(engine, "before_cursor_execute", count)
    queries = len(statements)
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return statistics.mean(timings), statistics.median(timings), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    settings = Settings(database_url=url, send_mail_in_process=False, _env_file=None)  # type: ignore[call-arg]
    migrate(settings)
    app = create_app(settings)
    with app.state.sessionmaker.begin() as session:
        reader = users.create_account(
            session=session,
            data=UserCreate(
                name="Reader", email="reader@example.eu", role=Role.secretariat, institution="jrc"
            ),
            token_label="benchmark",
            now=NOW,
        )
    secretariat = {"Authorization": f"Bearer {reader.secret}"}
    print(f"database: {url.split(':', 1)[0]}, {args.rounds} rounds per figure")
    print(f"{'events':>7}  {'request':<34} {'mean ms':>8} {'median ms':>9} {'queries':>7}")
    existing = 0
    with TestClient(app) as client:
        for size in sorted(args.sizes):
            fill(app, size - existing, existing)
            existing = size
            last = client.get("/events", params={"limit": 1, "offset": size - 1}).json()
            requests = [
                ("GET /events?limit=50 (anonymous)", "/events?limit=50", {}),
                ("GET /events?limit=50 (secretariat)", "/events?limit=50", secretariat),
                ("GET /events?action=3&limit=50", "/events?action=3&limit=50", {}),
                ("GET /events?q=event 19&limit=50", "/events?q=event%2019&limit=50", {}),
                ("GET /events/{id}", f"/events/{last['items'][0]['id']}", {}),
            ]
            for label, path, headers in requests:
                mean, median, queries = measure(
                    client, app.state.engine, path, headers, args.rounds
                )
                print(f"{size:>7}  {label:<34} {mean:>8.2f} {median:>9.2f} {queries:>7}")
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
