"""What polling the calendar feed costs as the programme grows, against /health and
against the icalendar library alone.

    .venv/bin/python benchmarks/feeds.py [--database-url URL] [--sizes 100 1000 10000]

Fills the configured database (``KEP_DATABASE_URL``, or ``--database-url``; it must
hold no events yet) with published events, serves the application with uvicorn on a
local port, and prints for each size the median time of:

- ``GET /health``;
- ``GET /calendar.ics`` answered 304 (``If-None-Match``);
- ``GET /calendar.ics`` answered in full from the cache of whole bodies;
- the change of one event through the API (``PATCH /events/{id}``), which serialises
  that event's VEVENT and keeps it in the database;
- ``GET /calendar.ics`` after that change (the body made again from the stored VEVENTs);
- ``GET /calendar.ics`` from an empty cache (no body cached, no VEVENT stored);
- the icalendar library alone building and serialising the same calendar from the
  events already loaded (the reference for the two renders);

with the ratios the targets are stated in. Each figure is measured in turns with the one
it is compared to, so that both see the same load on the machine; compare the rows of
one run with each other, as absolute times depend on the machine.
"""

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from sqlalchemy import delete, func, select, text

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.cli import migrate
from app.config import Settings, get_settings
from app.events import agenda
from app.events import service as events
from app.events.schemas import AgendaIn, EventCreate
from app.feeds import service, vevents
from app.feeds.queries import CalendarFilters
from app.main import create_app
from app.models import Event, FeedEntry, Role

START = datetime(2027, 1, 4, 8, tzinfo=UTC)
ZONES = ["Europe/Brussels"] * 6 + ["Europe/Lisbon", "Europe/Athens", "Europe/Helsinki"]
CITIES = [("Brussels", "BE"), ("Porto", "PT"), ("Bologna", "IT"), ("Tartu", "EE"), ("Lyon", "FR")]


def fill(app, count: int, start: int) -> None:
    """``count`` published events: a third peer-to-peer with a host, every fourth with a
    two-item agenda, spread over three years and a few zones."""
    now = datetime.now(UTC)
    with app.state.sessionmaker.begin() as session:
        staff = users.create_user(
            session=session,
            actor=None,
            data=UserCreate(
                name="Bench Secretariat",
                email=f"bench{start}@example.eu",
                role=Role.secretariat,
                institution="cor_sedec",
            ),
            now=now,
        )
        host = users.create_user(
            session=session,
            actor=None,
            data=UserCreate(
                name=f"Host {start}",
                email=f"host{start}@example.eu",
                role=Role.member,
                member_state="PT",
                region="Norte",
            ),
            now=now,
        )
        for n in range(start, start + count):
            begins = START + timedelta(days=n % 1000, hours=n % 9)
            city, country = CITIES[n % len(CITIES)]
            created = events.create_event(
                session=session,
                actor=staff,
                data=EventCreate(
                    title=f"Regional innovation exchange {n}: valleys, missions; results",
                    description="How regions build innovation ecosystems together.\n"
                    "Peer learning between regional and local authorities.",
                    kind="other",
                    status="published",
                    starts_at=begins,
                    ends_at=begins + timedelta(hours=3 + n % 30),
                    timezone=ZONES[n % len(ZONES)],
                    venue={"name": "Conference hall", "city": city, "country": country},
                    online_url="https://meet.example.eu/kep" if n % 2 else None,
                    actions=[1 + n % 11, 1 + (n + 3) % 11],
                ),
                now=now,
            )
            if n % 3 == 0:
                created.host = host
            if n % 4 == 0:
                agenda.replace_agenda(
                    session=session,
                    actor=staff,
                    event_id=created.id,
                    data=AgendaIn.model_validate(
                        {
                            "items": [
                                {
                                    "starts_at": begins,
                                    "ends_at": begins + timedelta(hours=1),
                                    "title": "Opening",
                                    "speakers": [{"name": "Ana Costa", "affiliation": "Norte"}],
                                },
                                {
                                    "starts_at": begins + timedelta(hours=1),
                                    "ends_at": begins + timedelta(hours=2),
                                    "title": "Panel",
                                    "speakers": [{"name": "Piet Jansen"}, {"name": "Eva Ek"}],
                                },
                            ]
                        }
                    ),
                    now=now,
                )


class Server:
    """The application served by uvicorn on a free local port, in a thread."""

    def __init__(self, app) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()


def interleaved(rounds: int, *runs: tuple[Callable[[], object] | None, Callable[[], object]]):
    """The median time of each ``run``, measured in turns within every round (each after
    its own untimed preparation), so that all see the same load on the machine."""
    timings: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for timing, (prepare, run) in zip(timings, runs, strict=True):
            if prepare is not None:
                prepare()
            began = time.perf_counter()
            run()
            timing.append((time.perf_counter() - began) * 1000)
    return [statistics.median(timing) for timing in timings]


def get(client: httpx.Client, path: str, status: int = 200, **headers: str) -> httpx.Response:
    response = client.get(path, headers=headers)
    assert response.status_code == status, (response.status_code, response.text[:200])
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()
    url = args.database_url or get_settings().database_url
    settings = Settings(database_url=url, send_mail_in_process=False, _env_file=None)  # type: ignore[call-arg]
    migrate(settings)
    app = create_app(settings)
    with app.state.sessionmaker() as session:
        if session.scalar(select(func.count()).select_from(Event)):
            sys.exit("The database already holds events: give an empty one (--database-url)")
    base_url = settings.base_url
    cache = app.state.feed_cache

    with app.state.sessionmaker.begin() as session:
        editor = users.create_account(
            session=session,
            data=UserCreate(
                name="Editor", email="editor@example.eu", role=Role.secretariat, institution="jrc"
            ),
            token_label="benchmark",
            now=datetime.now(UTC),
        )
    secretariat = {"Authorization": f"Bearer {editor.secret}"}

    def change_one_event(client: httpx.Client, event_id: int) -> Callable[[], None]:
        """An edit through the API, as the secretariat makes one: the request serialises
        the event's VEVENT and keeps it as it ends."""

        def change() -> None:
            response = client.patch(
                f"/events/{event_id}",
                headers=secretariat,
                json={"title": f"Changed at {time.perf_counter_ns()}"},
            )
            assert response.status_code == 200, response.text

        return change

    def empty_caches() -> None:
        """No body cached and no VEVENT stored, as after a release that writes different
        lines. PostgreSQL empties the table at once (a DELETE would leave ten thousand
        dead rows behind each round for autovacuum to chase during the next ones)."""
        cache.clear()
        with app.state.sessionmaker.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("TRUNCATE feed_entries"))
            else:
                session.execute(delete(FeedEntry))

    def library_alone() -> Callable[[], bytes]:
        with app.state.sessionmaker() as session:
            contents = service.calendar_contents(CalendarFilters(), datetime.now(UTC), base_url)(
                session
            )
            loaded = {
                event.id: event
                for event in vevents.events_for_entries(
                    session, [row.event_id for row in contents.rows]
                )
            }
            session.expunge_all()
        return lambda: service.whole_calendar(contents, loaded, base_url=base_url).to_ical()

    print(f"database: {url.split(':', 1)[0]}; uvicorn on a local port; medians in ms")
    header = f"{'events':>7}  {'request':<44} {'ms':>9}  {'ratio':<28}"
    print(header)
    existing = 0
    with Server(app) as server_url, httpx.Client(base_url=server_url, timeout=300) as client:
        for size in sorted(args.sizes):
            fill(app, size - existing, existing)
            existing = size
            with app.state.sessionmaker() as session:
                some_event = session.scalar(select(func.min(Event.id)))
            quick = 200 if size <= 1000 else 100
            renders = 20 if size <= 100 else 10 if size <= 1000 else 5

            full = get(client, "/calendar.ics")
            assert full.text.count("BEGIN:VEVENT") == size
            etag = full.headers["etag"]
            health, not_modified, cached = interleaved(
                quick,
                (None, lambda: get(client, "/health")),
                (
                    None,
                    lambda tag=etag: get(client, "/calendar.ics", 304, **{"If-None-Match": tag}),
                ),
                (None, lambda: get(client, "/calendar.ics")),
            )
            build = library_alone()
            change = change_one_event(client, some_event)
            edit, rerender, library, from_empty = interleaved(
                renders,
                (None, change),
                (None, lambda: get(client, "/calendar.ics")),
                (None, build),
                (empty_caches, lambda: get(client, "/calendar.ics")),
            )
            kb = len(full.content) / 1024
            rows = [
                ("GET /health", health, ""),
                ("GET /calendar.ics, 304", not_modified, f"{not_modified / health:.2f}x /health"),
                (f"GET /calendar.ics, cached ({kb:,.0f} KB)", cached, ""),
                ("PATCH /events/{id}: the change, its VEVENT kept", edit, ""),
                (
                    "GET /calendar.ics after one event changed",
                    rerender,
                    f"{rerender / library:.3f}x library",
                ),
                (
                    "GET /calendar.ics from an empty cache",
                    from_empty,
                    f"{from_empty / library:.2f}x library",
                ),
                (
                    "icalendar alone: build and serialise",
                    library,
                    f"{library / size * 1000:.0f} us/event",
                ),
            ]
            for label, ms, ratio in rows:
                print(f"{size:>7}  {label:<44} {ms:>9.2f}  {ratio:<28}", flush=True)
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
