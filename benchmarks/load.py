"""The issue's table under load: `kep serve --workers 2` on PostgreSQL, request by
request, next to a bare FastAPI app served the same way on the same machine.

    .venv/bin/python benchmarks/load.py [--database-url URL] [--duration 10]
        [--clients 10 50] [--source DIR] [--no-sqlite] [--writes-only] [--profile FILE]

It fills the database with a realistic programme (301 accounts, 2,000 events over the
plan's four years in 21 time zones, 20,000 registrations with the messages they were
sent, eight seminars with proposals and supports), then runs `wrk` (Debian: `apt-get
install wrk`) once per row and per number of clients: the bare app, `/health`, the
listing, a filtered listing, single events, tallies as the secretariat, "my
registrations", the listing and single events with a current `If-None-Match`, new
registrations, the same by the service writing no message (`benchmarks/no_message.py`),
the floor under them (their statements alone on the bare app:
`benchmarks/write_floor.py`), and the same statements in one call of a database function
(`benchmarks/one_call.py`); then the listing on SQLite with the same workers. It
prints one table: in-process time, statements and body size (the bare app's in-process
time is the least a request takes: httpx and the ASGI call), requests per second, the
ratio to the bare app, p95/p99, errors, and how many connections each worker held, with
the load average of the machine; and the CPU time each registration cost the workers,
the mail sender and PostgreSQL, in each of the four ways.

`--source DIR` serves (and times in-process) the code of another tree, such as an
earlier commit unpacked with `git archive`, on the same programme. By default it creates
a PostgreSQL database of its own on 127.0.0.1 and drops it at the end; with
`--database-url` it uses (and empties) the database given.
"""

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine, make_url

from app.auth.tokens import hash_token, new_token
from app.cli import alembic_config
from app.models import (
    ApiToken,
    Base,
    Event,
    OutboxMessage,
    Proposal,
    Registration,
    Seminar,
    Support,
    User,
)
from app.models.seminars import topic_key
from tests.helpers.processes import descendants, free_port

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_load_{os.getpid()}"
NOW = datetime.now(UTC)
MEMBER_STATES = ["BE", "PT", "FR", "DE", "IT", "ES", "PL", "EL", "SE", "FI"]
# The zones of a realistic programme: more than ZoneInfo keeps in its small cache.
ZONES = [
    "Europe/Brussels",
    "Europe/Lisbon",
    "Atlantic/Azores",
    "Atlantic/Madeira",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Rome",
    "Europe/Madrid",
    "Atlantic/Canary",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Stockholm",
    "Europe/Helsinki",
    "Europe/Vienna",
    "Europe/Prague",
    "Europe/Bucharest",
    "Europe/Sofia",
    "Europe/Dublin",
    "Europe/Tallinn",
    "Europe/Riga",
    "Europe/Vilnius",
]


# -- the programme -------------------------------------------------------------------------


@dataclass
class Programme:
    event_ids: list[int]
    seminar_ids: list[int]
    pairs: list[tuple[str, int]]  # (token, event id) of a registration not yet made
    staff_token: str
    member_tokens: list[str]


def fill(engine: Engine, seed: int = 7) -> Programme:
    rng = random.Random(seed)
    tables = Base.metadata.tables
    with engine.begin() as connection:
        staff_id = connection.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "name": "Bench Secretariat",
                    "email": "staff@bench.example.eu",
                    "role": "secretariat",
                    "institution": "cor_sedec",
                    "created_at": NOW,
                }
            ],
        ).scalar_one()
        members = (
            connection.execute(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {
                        "name": f"Member {n}",
                        "email": f"member{n}@bench.example.eu",
                        "role": "member",
                        "member_state": MEMBER_STATES[n % len(MEMBER_STATES)].replace("EL", "GR"),
                        "region": f"Region {n}",
                        "created_at": NOW,
                    }
                    for n in range(300)
                ],
            )
            .scalars()
            .all()
        )
        tokens = {member: new_token() for member in [staff_id, *members]}
        connection.execute(
            insert(ApiToken),
            [
                {
                    "user_id": member,
                    "token_hash": hash_token(secret),
                    "label": "bench",
                    "created_at": NOW,
                }
                for member, secret in tokens.items()
            ],
        )
        start = datetime(2026, 1, 5, 9, tzinfo=UTC)
        span = (datetime(2029, 12, 20, tzinfo=UTC) - start).total_seconds()
        rows = []
        for n in range(2000):
            begins = start + timedelta(seconds=span * n / 2000)
            rows.append(
                {
                    "title": f"Regional innovation day {n}",
                    "description": "A day of exchange between regions. " * 5,
                    "kind": ("other", "peer_to_peer", "joint_seminar")[n % 3],
                    "status": "published",
                    "starts_at": begins,
                    "ends_at": begins + timedelta(hours=6),
                    "timezone": ZONES[n % len(ZONES)],
                    "local_start_year": begins.astimezone(ZoneInfo(ZONES[n % len(ZONES)])).year,
                    "venue_name": "Hall",
                    "venue_city": "Brussels",
                    "venue_country": MEMBER_STATES[n % len(MEMBER_STATES)].replace("EL", "GR"),
                    "capacity": (None, 30, 60, 120)[n % 4],
                    "created_by_id": staff_id,
                    "sequence": 0,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "published_at": NOW,
                }
            )
        uids = dict(
            connection.execute(
                insert(Event).returning(Event.id, Event.uid, sort_by_parameter_order=True), rows
            ).all()
        )
        events = list(uids)
        connection.execute(
            insert(tables["event_actions"]),
            [{"event_id": e, "action_number": 1 + e % 11} for e in events],
        )
        connection.execute(
            insert(tables["event_priority_areas"]),
            [{"event_id": e, "priority_area_number": 1 + (e // 10) % 4} for e in events],
        )
        registered: set[tuple[int, int]] = set()
        registrations = []
        capacity = {e: row["capacity"] for e, row in zip(events, rows, strict=True)}
        per_event: dict[int, int] = defaultdict(int)
        while len(registrations) < 20_000:
            event, member = rng.choice(events), rng.choice(members)
            if (event, member) in registered:
                continue
            registered.add((event, member))
            per_event[event] += 1
            cap = capacity[event]
            registrations.append(
                {
                    "event_id": event,
                    "user_id": member,
                    "status": "waitlisted" if cap and per_event[event] > cap else "registered",
                    "queue_number": per_event[event],
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        made = connection.execute(
            insert(Registration).returning(Registration.id, sort_by_parameter_order=True),
            registrations,
        ).scalars()
        connection.execute(
            insert(OutboxMessage),
            sent_messages(
                zip(made, registrations, strict=True),
                uids,
                {id_: (email, name) for id_, email, name in connection.execute(PEOPLE)},
            ),
        )
        seminars = []
        for year in (2026, 2027, 2028, 2029):
            for number in (1, 2):
                opens = datetime(year, 1 + 6 * (number - 1), 1, tzinfo=UTC)
                seminars.append(
                    {
                        "year": year,
                        "number": number,
                        "proposals_open_at": opens,
                        "proposals_close_at": opens + timedelta(days=30),
                        "voting_close_at": opens + timedelta(days=45),
                        "created_by_id": staff_id,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        seminar_ids = (
            connection.execute(
                insert(Seminar).returning(Seminar.id, sort_by_parameter_order=True), seminars
            )
            .scalars()
            .all()
        )
        proposals = connection.execute(
            insert(Proposal).returning(Proposal.id, Proposal.seminar_id),
            [
                {
                    "seminar_id": seminar,
                    "proposer_id": members[(seminar * 10 + n) % len(members)],
                    "title": f"Topic {n} of seminar {seminar}",
                    "title_key": topic_key(f"Topic {n} of seminar {seminar}"),
                    "summary": "Why this matters to the regions.",
                    "status": "submitted",
                    "submitted_at": NOW,
                    "updated_at": NOW,
                }
                for seminar in seminar_ids
                for n in range(10)
            ],
        ).all()
        connection.execute(
            insert(tables["proposal_actions"]),
            [{"proposal_id": proposal, "action_number": 2} for proposal, _ in proposals],
        )
        by_seminar: dict[int, list[int]] = defaultdict(list)
        for proposal, seminar in proposals:
            by_seminar[seminar].append(proposal)
        connection.execute(
            insert(Support),
            [
                {
                    "proposal_id": proposal,
                    "voter_id": member,
                    "affiliation": "cor",
                    "created_at": NOW,
                }
                for seminar, options in by_seminar.items()
                for member in members
                for proposal in rng.sample(options, 3)
            ],
        )
    keep_public_parts_of(engine, list(events))
    upcoming = [
        e for e, row in zip(events, rows, strict=True) if row["starts_at"] > NOW + timedelta(days=1)
    ]
    pairs = []
    while len(pairs) < 80_000:
        event, member = rng.choice(upcoming), rng.choice(members)
        if (event, member) not in registered:
            registered.add((event, member))
            pairs.append((tokens[member], event))
    past_seminars = [
        s for s, row in zip(seminar_ids, seminars, strict=True) if row["voting_close_at"] < NOW
    ]
    return Programme(
        event_ids=list(events),
        seminar_ids=past_seminars,
        pairs=pairs,
        staff_token=tokens[staff_id],
        member_tokens=[tokens[member] for member in members],
    )


KIND_OF = {"registered": "registration_confirmed", "waitlisted": "registration_waitlisted"}
PEOPLE = select(User.id, User.email, User.name)


def sent_messages(
    registrations: Iterable[tuple[int, dict[str, Any]]],
    uids: dict[int, str],
    people: dict[int, tuple[str, str]],
) -> list[dict[str, Any]]:
    """The message each registration of the programme was sent, invitation included, as
    the service would have queued and delivered it: a service that holds 20,000
    registrations holds their messages too, and the invitations' sequences are looked up
    among them. Texts of a message's size; only their size is realistic. ``people``:
    each account's address and name, by id."""
    body, calendar = "Your place at this event is confirmed.\n" * 18, "X-LINE:value\r\n" * 120
    messages = []
    for id_, row in registrations:
        kind, (address, name) = KIND_OF[row["status"]], people[row["user_id"]]
        messages.append(
            {
                "idempotency_key": f"registration:{id_}:{row['status']}:{row['queue_number']}",
                "kind": kind,
                "user_id": row["user_id"],
                "recipient": address,
                "recipient_name": name,
                "subject": f"{kind}: Regional innovation day",
                "body": body,
                "calendar": calendar,
                "calendar_method": "REQUEST",
                "calendar_uid": uids[row["event_id"]],
                "calendar_sequence": 0,
                "message_id": f"<{id_}@bench.example.eu>",
                "status": "sent",
                "attempts": 1,
                "next_attempt_at": NOW,
                "created_at": NOW,
                "sent_at": NOW,
            }
        )
    return messages


def keep_public_parts_of(engine: Engine, event_ids: list[int]) -> None:
    """What publishing through the service keeps of each event: its public VEVENT, for
    the feeds and the invitations (``app.feeds.entries``)."""
    from sqlalchemy.orm import Session

    from app.config import Settings
    from app.feeds.entries import keep_public_parts

    address = engine.url.render_as_string(hide_password=False)
    base_url = Settings(database_url=address).base_url  # type: ignore[call-arg]
    with Session(engine) as session, session.begin():
        for start in range(0, len(event_ids), 500):
            keep_public_parts(session, event_ids[start : start + 500], base_url=base_url)


# -- processes -------------------------------------------------------------------------------


@contextlib.contextmanager
def served(
    command: list[str], env: dict[str, str], port: int, probe: str, source: Path = ROOT
) -> Iterator[subprocess.Popen]:
    env = {**env, "PYTHONPATH": str(source)}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=env, cwd=source, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"the server did not start:\n{log.read().decode()[-3000:]}")
                time.sleep(0.3)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def peak_memory_mib(pid: int) -> list[float]:
    """The peak resident memory (VmHWM) of each worker process under ``pid``."""
    peaks = []
    for child in descendants(pid) or [pid]:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return peaks


# -- the load ------------------------------------------------------------------------------

# One request kind per run. ``paths``: paths picked at random, each with its own headers
# (a token, an ETag); ``pairs``: (token, event id) registrations, each made once.
LUA = r"""
local data = DATA
local threads = {}
local made = 0

function setup(thread)
  made = made + 1
  thread:set("index", made)
  table.insert(threads, thread)
end

function init(args)
  mine = {}
  if data.pairs then
    for i = index, #data.pairs, data.threads do mine[#mine + 1] = data.pairs[i] end
  end
  used = 0
  math.randomseed(index * 7919)
end

function request()
  if data.pairs then
    used = used + 1
    local pair = mine[((used - 1) % #mine) + 1]
    return wrk.format("POST", "/events/" .. pair[2] .. "/registrations",
      {["Authorization"] = "Bearer " .. pair[1]})
  end
  local i = math.random(#data.paths)
  local headers = {}
  if data.tokens then
    headers["Authorization"] = "Bearer " .. data.tokens[((i - 1) % #data.tokens) + 1]
  end
  if data.etags then headers["If-None-Match"] = data.etags[i] end
  return wrk.format("GET", data.paths[i], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("R %d %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, e.timeout, latency.max))
end
"""


def lua_value(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {lua_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_value(item) for item in value) + "}"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


@dataclass
class Run:
    rate: float  # requests per second
    p50: float  # ms
    p95: float
    p99: float
    socket_errors: int
    bad_statuses: int  # answers other than 2xx/3xx
    split: list[int]  # open connections per worker, sampled mid-run


def connections_per_worker(port: int, workers: list[int]) -> list[int]:
    """How many established connections each worker process holds on ``port``."""
    output = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    counts = dict.fromkeys(workers, 0)
    for line in output.splitlines():
        for worker in workers:
            if f"pid={worker}," in line:
                counts[worker] += 1
    return [counts[worker] for worker in workers]


def run_wrk(port: int, clients: int, seconds: int, data: dict, workers: list[int]) -> Run:
    script = LUA.replace("DATA", lua_value({**data, "threads": clients}))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    threads = min(clients, 4)
    script_data = {**data, "threads": threads}
    with open(file.name, "w") as rewritten:
        rewritten.write(LUA.replace("DATA", lua_value(script_data)))
    try:
        process = subprocess.Popen(
            [
                "wrk",
                f"-t{threads}",
                f"-c{clients}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                file.name,
                f"http://127.0.0.1:{port}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(seconds / 2)
        split = connections_per_worker(port, workers)
        output, _ = process.communicate()
    finally:
        os.unlink(file.name)
    for line in output.splitlines():
        if line.startswith("R "):
            requests, duration, p50, p95, p99, socket_errors, bad, _, _ = map(int, line.split()[1:])
            return Run(
                rate=requests / (duration / 1e6),
                p50=p50 / 1000,
                p95=p95 / 1000,
                p99=p99 / 1000,
                socket_errors=socket_errors,
                bad_statuses=bad,
                split=split,
            )
    raise SystemExit(f"wrk said nothing usable:\n{output}")


# -- in-process figures -------------------------------------------------------------------


@dataclass
class InProcess:
    """Median time and most statements of a request asked with no answer kept, and of
    the same request asked again at once, nothing having changed; the body's size."""

    first_ms: float
    first_statements: int
    again_ms: float
    again_statements: int
    size: int


def in_process(url: str, rows: list["Row"], rounds: int = 40) -> dict[str, InProcess]:
    """Each row's request through the application in this process (no server, no
    network: httpx calls the ASGI application in the same event loop): median time,
    SQL statements, body size."""
    import asyncio

    from sqlalchemy import event

    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(database_url=url, send_mail_in_process=False, _env_file=None))  # type: ignore[call-arg]
    statements: list[str] = []
    event.listen(
        app.state.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )

    async def measure() -> dict[str, InProcess]:
        figures = {}
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://kep") as client,
        ):
            for row in rows:
                if not row.in_process:
                    continue
                size = 0
                first: list[tuple[float, int]] = []
                again: list[tuple[float, int]] = []
                for n in range(rounds):
                    i = n % len(row.paths)
                    headers = {}
                    if row.tokens:
                        headers["Authorization"] = "Bearer " + row.tokens[i % len(row.tokens)]
                    if row.etags:
                        headers["If-None-Match"] = row.etags[i]
                    if row.tokens:  # its last use recorded, as under steady load
                        await client.get("/me", headers=headers)
                    # Asked with nothing kept, then at once again (kept, if it can be).
                    for kept in ("answers", "callers", "front"):
                        if hasattr(app.state, kept):
                            getattr(app.state, kept).clear()
                    for timings in (first, again):
                        statements.clear()
                        started = time.perf_counter()
                        answer = await client.get(row.paths[i], headers=headers)
                        timings.append(((time.perf_counter() - started) * 1000, len(statements)))
                        size = max(size, len(answer.content))
                figures[row.name] = InProcess(
                    statistics.median(ms for ms, _ in first),
                    max(count for _, count in first),
                    statistics.median(ms for ms, _ in again),
                    max(count for _, count in again),
                    size,
                )
        return figures

    figures = asyncio.run(measure())
    app.state.engine.dispose()
    figures[BARE] = asyncio.run(bare_in_process(rounds))
    return figures


BARE = "bare FastAPI (sync route)"
NO_MESSAGE = "the same, writing no message (benchmarks/no_message.py)"
FLOOR = "floor: a registration's statements alone (bare app, SQLAlchemy Core)"
ONE_CALL = "the same statements in one database function call (benchmarks/one_call.py)"


async def bare_in_process(rounds: int) -> "InProcess":
    """The bare app's one request the same way: the least of the in-process figures
    (httpx, the ASGI call, a synchronous endpoint in the thread pool)."""
    from benchmarks.bare_app import app

    timings = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        for _ in range(rounds):
            started = time.perf_counter()
            answer = await client.get("/ping")
            timings.append((time.perf_counter() - started) * 1000)
    ms = statistics.median(timings)
    return InProcess(ms, 0, ms, 0, len(answer.content))


@contextlib.contextmanager
def bench_database(url: str | None) -> Iterator[str]:
    if url is not None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        yield url
        return
    admin = create_engine(
        make_url(DEFAULT_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    name = make_url(DEFAULT_URL).database
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield DEFAULT_URL
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str) -> "Programme":
    """Migrate the database at ``url``, fill it with the programme and (PostgreSQL)
    analyse it; the programme."""
    from alembic import command

    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    engine = create_engine(url)
    programme = fill(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    engine.dispose()
    return programme


@contextlib.contextmanager
def programme_database() -> Iterator[tuple[str, "Programme"]]:
    """A PostgreSQL database of its own, prepared; its address and the programme."""
    with bench_database(None) as url:
        yield url, prepare(url)


def in_process_of(source: Path, url: str, rows: list["Row"]) -> dict[str, InProcess]:
    """``in_process`` run by the code of ``source``, in a process of its own."""
    answer = subprocess.run(
        [sys.executable, __file__, "--in-process-of", url],
        input=json.dumps([vars(row) for row in rows]),
        env={**os.environ, "PYTHONPATH": str(source)},
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(answer.stdout.strip().splitlines()[-1])
    return {name: InProcess(**figure) for name, figure in found.items()}


# -- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    paths: list[str]
    tokens: list[str] | None = None
    etags: list[str] | None = None
    pairs: list[tuple[str, int]] | None = None
    in_process: bool = True


def etags_of(base: str, paths: list[str], tokens: list[str] | None = None) -> list[str] | None:
    tags = []
    for i, path in enumerate(paths):
        headers = {"Authorization": "Bearer " + tokens[i % len(tokens)]} if tokens else {}
        tag = httpx.get(base + path, headers=headers, timeout=60).headers.get("etag")
        if tag is None:
            return None
        tags.append(tag)
    return tags


def kep_rows(base: str, programme: Programme) -> list[Row]:
    rng = random.Random(11)
    events = [f"/events/{event}" for event in rng.sample(programme.event_ids, 200)]
    rows = [
        Row("GET /health", ["/health"]),
        Row("GET /events?limit=50", ["/events?limit=50"]),
        Row(
            "GET /events?limit=50&priority_area=2&country=PT",
            ["/events?limit=50&priority_area=2&country=PT"],
        ),
        Row("GET /events/{id}", events),
        Row(
            "GET /seminars/{id}/tally (secretariat)",
            [f"/seminars/{seminar}/tally" for seminar in programme.seminar_ids],
            tokens=[programme.staff_token],
        ),
        Row(
            "GET /me/registrations",
            ["/me/registrations"] * 100,
            tokens=programme.member_tokens[:100],
        ),
    ]
    for name, paths in [
        ("GET /events?limit=50, If-None-Match", ["/events?limit=50"]),
        ("GET /events/{id}, If-None-Match", events),
    ]:
        tags = etags_of(base, paths)
        if tags is None:
            print(f"{name}: no ETag in this version; left out")
            continue
        status = httpx.get(base + paths[0], headers={"If-None-Match": tags[0]}).status_code
        print(f"{name}: {status} to the current ETag")
        rows.append(Row(name, paths, etags=tags))
    return rows


def print_table(
    title: str,
    results: dict[str, dict[int, Run]],
    figures: dict[str, InProcess],
    levels: list[int],
    bare: str,
) -> None:
    load = os.getloadavg()
    print(f"\n{title}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    low, high = levels[0], levels[-1]
    print(
        f"| request | in-process | req/s at {' / '.join(map(str, levels))} clients "
        f"| × bare at {high} | p95 / p99 at {high} clients | errors "
        f"| connections per worker at {' / '.join(map(str, levels))} |"
    )
    print("|---|---|---|---|---|---|---|")
    reference = results[bare][high].rate
    for name, runs in results.items():
        figure = figures.get(name)
        shown = (
            f"{figure.first_ms:.1f} → {figure.again_ms:.1f} ms, "
            f"{figure.first_statements} → {figure.again_statements} statements, "
            f"{figure.size / 1024:.0f} KB"
            if figure
            else "–"
        )
        rates = " / ".join(f"{runs[level].rate:,.0f}" for level in levels)
        ratio = runs[high].rate / reference
        errors = sum(run.socket_errors + run.bad_statuses for run in runs.values())
        split = " · ".join("/".join(map(str, runs[level].split)) for level in levels)
        print(
            f"| {name} | {shown} | {rates} | {ratio:.2f} | "
            f"{runs[high].p95:,.0f} / {runs[high].p99:,.0f} ms | {errors} | {split} |"
        )
    del low


def workers_of(pid: int) -> list[int]:
    """The worker processes under ``pid`` (not multiprocessing's resource tracker, nor
    the mail sender), or ``pid`` itself when it serves alone (``--workers 1``)."""
    others = (b"resource_tracker", b"--beside")
    found = [
        child
        for child in descendants(pid)
        if not any(other in Path(f"/proc/{child}/cmdline").read_bytes() for other in others)
    ]
    return found or [pid]


def cpu_by_kind(server: int, database: str) -> dict[str, float]:
    """CPU seconds used so far by the service's workers and its mail sender (the
    processes under ``server``), and by PostgreSQL for ``database``: its server
    processes and the connections to that database, not those to others."""
    used: dict[str, float] = defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    ours = set(descendants(server))
    workers = set(workers_of(server))  # the server itself when it serves alone
    for folder in Path("/proc").iterdir():
        try:
            pid = int(folder.name)
            stat = (folder / "stat").read_text()
            command = (folder / "cmdline").read_bytes()
        except (ValueError, OSError):
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        connection = b"127.0.0.1(" in command or b"[local]" in command
        if name == "postgres" and (not connection or f" {database} ".encode() in command):
            kind = "PostgreSQL"
        elif pid in ours and b"--beside" in command:
            kind = "the mail sender"
        elif pid in workers:
            kind = "the workers"
        else:
            continue
        used[kind] += (int(fields[11]) + int(fields[12])) / tick
    return used


def measure_writes(
    port: int,
    pid: int,
    row: "Row",
    levels: list[int],
    seconds: int,
    database: str,
    profile: Path | None = None,
) -> dict[str, dict[int, "Run"]]:
    """``row``'s registrations, and the CPU each cost the processes under ``pid`` and
    PostgreSQL for ``database``; the first worker recorded by py-spy into ``profile``."""
    before = cpu_by_kind(pid, database)
    with profiled(workers_of(pid)[0], profile):
        results = measure(port, pid, [row], levels, seconds)
    print_cpu_per_write(before, cpu_by_kind(pid, database), results[row.name], seconds, row.name)
    return results


def print_cpu_per_write(
    before: dict[str, float], after: dict[str, float], runs: dict[int, "Run"], seconds: int, of: str
) -> None:
    made = sum(run.rate * seconds for run in runs.values())
    if not made:
        print(f"\nCPU per registration, {of}: none made")
        return
    kinds = ("the workers", "the mail sender", "PostgreSQL")
    shares = [
        f"{kind} {1000 * (after[kind] - before[kind]) / made:.1f} ms"
        for kind in kinds
        if kind in after
    ]
    print(f"\nCPU per registration, {of} ({made:,.0f} made): {', '.join(shares)}")


@contextlib.contextmanager
def profiled(pid: int, output: Path | None) -> Iterator[None]:
    """py-spy recording ``pid`` while the block runs, when ``output`` is given."""
    if output is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--gil", "-f", "raw", "-o", str(output), "--pid", str(pid)]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


def serve_command(port: int, workers: int, module: str = "app.cli") -> list[str]:
    """`kep serve`, or the same command of ``module`` (``benchmarks.no_message``)."""
    return [
        sys.executable,
        "-m",
        module,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def measure(
    port: int, pid: int, rows: list[Row], levels: list[int], seconds: int
) -> dict[str, dict[int, Run]]:
    workers = workers_of(pid)
    results: dict[str, dict[int, Run]] = {}
    for row in rows:
        data: dict = {"paths": row.paths}
        if row.tokens:
            data["tokens"] = row.tokens
        if row.etags:
            data["etags"] = row.etags
        results[row.name] = {}
        for number, clients in enumerate(levels):
            if row.pairs is not None:
                share = len(row.pairs) // len(levels)
                data = {"pairs": row.pairs[number * share : (number + 1) * share]}
            results[row.name][clients] = run_wrk(port, clients, seconds, data, workers)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="a PostgreSQL database to use and empty")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-sqlite", action="store_true", help="leave out the SQLite row")
    parser.add_argument(
        "--writes-only",
        action="store_true",
        help="the bare app and the three rows of registrations only (no reads, no SQLite row)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the first worker with py-spy during the registrations, into this file "
        "(py-spy's raw format, for flame graphs)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=ROOT,
        help="serve (and time in-process) the code of this source tree, such as an earlier "
        "version unpacked with git archive; the programme is the same",
    )
    parser.add_argument("--in-process-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process_of:  # run under --source's code, from main below
        rows = [Row(**row) for row in json.loads(sys.stdin.read())]
        figures = in_process(args.in_process_of, rows)
        print(json.dumps({name: vars(figure) for name, figure in figures.items()}))
        return
    source = args.source.resolve()
    levels = sorted(args.clients)

    with bench_database(args.database_url) as url, tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{folder}/bench.db"
        programmes = {}
        for name, database in [("postgresql", url), ("sqlite", sqlite_url)]:
            if name == "sqlite" and (args.no_sqlite or args.writes_only):
                continue
            started = time.perf_counter()
            programmes[name] = prepare(database)
            engine = create_engine(database)
            with engine.connect() as connection:
                counts = [
                    connection.execute(
                        select(text("count(*)")).select_from(text(table))
                    ).scalar_one()
                    for table in ("users", "events", "registrations", "supports")
                ]
            engine.dispose()
            print(
                f"{name}: {counts[0]} accounts, {counts[1]} events, {counts[2]} registrations, "
                f"{counts[3]} supports (filled in {time.perf_counter() - started:.1f} s)"
            )
        programme = programmes["postgresql"]

        results: dict[str, dict[int, Run]] = {}
        bare_name = BARE
        bare_port = free_port()
        bare = [sys.executable, "-m", "benchmarks.bare_app", str(bare_port), str(args.workers)]
        with served(bare, dict(os.environ), bare_port, "/ping", source) as process:
            run_wrk(bare_port, 10, 2, {"paths": ["/ping"]}, workers_of(process.pid))
            results.update(
                measure(bare_port, process.pid, [Row(bare_name, ["/ping"])], levels, args.duration)
            )

        port = free_port()
        env = {**os.environ, "KEP_DATABASE_URL": url}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with served(serve_command(port, args.workers), env, port, "/health", source) as process:
            base = f"http://127.0.0.1:{port}"
            rows = [] if args.writes_only else kep_rows(base, programme)
            # The whole calendar too: each worker works out every zone's transitions
            # over the programme's years once, as a worker that has served for a while
            # has, and the writes' invitations find them made.
            warm = Row("warm-up", ["/events?limit=50", "/events/1", "/health", "/calendar.ics"])
            measure(port, process.pid, [warm], [10], 3)
            results.update(measure(port, process.pid, rows, levels, args.duration))
            # In-process figures before the writes: the ETags sent are still current.
            figures = in_process_of(source, url, rows) if rows else {}
            write = Row(
                "POST /events/{id}/registrations", [], pairs=programme.pairs, in_process=False
            )
            database = make_url(url).database or ""
            results.update(
                measure_writes(
                    port, process.pid, write, levels, args.duration, database, args.profile
                )
            )

        # The service writing no message, from the middle of the same pairs (far from
        # both ends: none of them made yet, nor made by the floor below).
        port = free_port()
        command = serve_command(port, args.workers, "benchmarks.no_message")
        with served(command, env, port, "/health") as process:
            measure(port, process.pid, [warm], [10], 3)
            write = Row(NO_MESSAGE, [], pairs=programme.pairs[20_000:40_000], in_process=False)
            results.update(
                measure_writes(port, process.pid, write, levels, args.duration, database)
            )

        # The floor under the registrations: their statements alone on the bare app; and
        # under it, the same statements in one call of a database function. Each takes
        # pairs of its own (none of them made yet).
        for name, module, pairs in (
            (FLOOR, "benchmarks.write_floor", programme.pairs[40_000:60_000]),
            (ONE_CALL, "benchmarks.one_call", programme.pairs[60_000:]),
        ):
            port = free_port()
            floor = [sys.executable, "-m", module, str(port), str(args.workers)]
            with served(floor, env, port, "/ping") as process:
                write = Row(name, [], pairs=pairs, in_process=False)
                results.update(
                    measure_writes(port, process.pid, write, levels, args.duration, database)
                )

        if "sqlite" in programmes:
            port = free_port()
            env = {**os.environ, "KEP_DATABASE_URL": sqlite_url}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            with served(serve_command(port, args.workers), env, port, "/health", source) as process:
                row = Row(
                    f"SQLite, GET /events?limit=50, {args.workers} workers", ["/events?limit=50"]
                )
                measure(port, process.pid, [row], [10], 3)
                results.update(measure(port, process.pid, [row], levels, args.duration))
                sqlite_runs = results[row.name]
                p95s = " / ".join(f"{sqlite_runs[level].p95:,.0f} ms" for level in levels)
                print(f"\n{row.name}: p95 {p95s} at {' / '.join(map(str, levels))} clients")

        print_table(
            f"kep serve --workers {args.workers} ({source}), PostgreSQL, {args.duration} s per run",
            results,
            figures,
            levels,
            bare_name,
        )


if __name__ == "__main__":
    main()
