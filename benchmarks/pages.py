"""The public web pages beside the JSON listing, at growing numbers of events.

    .venv/bin/python benchmarks/pages.py [--database-url URL] [--sizes 1000 10000]

Fills a database with published events (a tenth of them over, the rest upcoming, two
actions each, two registrations each), then prints for each size the mean and median
time and the SQL statements of the programme page (`GET /` as a browser asks for it:
the first page of 20, filtered, the past tab, a revalidation answered 304), one event's
page, the plan and the other pages, next to the JSON listing `GET /events` in the same
run (its reference: `limit=20`, the programme's page size, and the default 50).
Compare the rows of one run; absolute times depend on the machine. The default
database is a fresh SQLite file.
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
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


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
            for n in range(2)
        ]
        for n in range(start, start + count):
            # One in ten is over by NOW: the past tab has events too.
            offset = -(1 + n % 300) if n % 10 == 0 else 30 + n % 700
            day = NOW + timedelta(days=offset, hours=n % 8)
            created = events.create_event(
                session=session,
                actor=staff,
                data=EventCreate(
                    title=f"Event {n}",
                    description="A programme event of the benchmark. " * 8,
                    kind="other",
                    status="published",
                    starts_at=day,
                    ends_at=day + timedelta(hours=3),
                    timezone="Europe/Brussels",
                    venue={
                        "name": "Hall",
                        "city": "Brussels",
                        "country": ("BE", "PT", "FI")[n % 3],
                    },
                    capacity=3,
                    actions=[1 + n % 11, 1 + (n + 3) % 11],
                ),
                now=NOW - timedelta(days=400),
            )
            if offset > 0:
                for person in people:
                    registrations.register(
                        session=session, user=person, event_id=created.id, now=NOW
                    )


def measure(client: TestClient, engine, path: str, headers: dict, rounds: int) -> tuple:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    first = client.get(path, headers=headers)
    event.remove(engine, "before_cursor_execute", count)
    assert first.status_code in (200, 304), (path, first.status_code, first.text[:300])
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == first.status_code, path
    return statistics.mean(timings), statistics.median(timings), len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    settings = Settings(database_url=url, send_mail_in_process=False, _env_file=None)  # type: ignore[call-arg]
    migrate(settings)
    app = create_app(settings)
    app.state.clock = lambda: NOW
    print(f"database: {url.split(':', 1)[0]}, {args.rounds} rounds per figure")
    print(f"{'events':>7}  {'request':<44} {'mean ms':>8} {'median ms':>9} {'queries':>7}")
    existing = 0
    with TestClient(app) as client:
        for size in sorted(args.sizes):
            fill(app, size - existing, existing)
            existing = size
            some = client.get("/events", params={"limit": 1, "offset": size // 2}).json()
            event_id = some["items"][0]["id"]
            etag = client.get("/", headers=BROWSER).headers["etag"]
            requests = [
                ("GET /events?limit=20 (JSON, reference)", "/events?limit=20", {}),
                ("GET /events?limit=50 (JSON)", "/events?limit=50", {}),
                ("GET / (programme page)", "/", BROWSER),
                ("GET /?priority_area=2&country=PT", "/?priority_area=2&country=PT", BROWSER),
                ("GET /?tab=past", "/?tab=past", BROWSER),
                ("GET /?page=40", "/?page=40", BROWSER),
                ("GET / with If-None-Match (304)", "/", {**BROWSER, "If-None-Match": etag}),
                ("GET /e/{id} (event page)", f"/e/{event_id}", BROWSER),
                ("GET /events/{id} (JSON)", f"/events/{event_id}", {}),
                ("GET /plan", "/plan", BROWSER),
                ("GET /joint-seminars", "/joint-seminars", BROWSER),
                ("GET /subscribe", "/subscribe", BROWSER),
            ]
            for label, path, headers in requests:
                mean, median, queries = measure(
                    client, app.state.engine, path, headers, args.rounds
                )
                print(f"{size:>7}  {label:<44} {mean:>8.2f} {median:>9.2f} {queries:>7}")
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
