"""A bounded mixed load on `kep serve --workers 2` over PostgreSQL, next to a bare FastAPI
app served the same way on the same machine, as the ceiling.

    .venv/bin/python benchmarks/load.py [--database-url URL] [--duration 20] [--clients 10 50]

It fills the database with a realistic programme (300 members, 2,000 events over the
plan's four years, 20,000 registrations, eight seminars with proposals and supports),
then for each number of concurrent clients runs `wrk` (Debian: `apt-get install wrk`)
with a mix of listings, single events, calendar feeds with and without `If-None-Match`,
tallies and registrations, and prints requests per second, p50/p95/p99 per operation,
errors, and the workers' peak memory. Feeds are left out when the service has none.

By default it creates the PostgreSQL database `bench_load` on 127.0.0.1 and drops it at
the end; with `--database-url` it uses (and empties) the database given.
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine, make_url

from app.auth.tokens import hash_token, new_token
from app.cli import alembic_config
from app.models import ApiToken, Base, Event, Proposal, Registration, Seminar, Support, User

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_load"
NOW = datetime.now(UTC)
MEMBER_STATES = ["BE", "PT", "FR", "DE", "IT", "ES", "PL", "EL", "SE", "FI"]

# The mix: operation, weight.
MIX = [
    ("listing", 25),
    ("event", 25),
    ("feed", 10),
    ("feed_304", 15),
    ("tally", 10),
    ("register", 15),
]


# -- the programme -------------------------------------------------------------------------


@dataclass
class Programme:
    event_ids: list[int]
    seminar_ids: list[int]
    pairs: list[tuple[str, int]]  # (token, event id) of a registration not yet made


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
        tokens = {member: new_token() for member in members}
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
                    "timezone": "Europe/Brussels",
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
        events = (
            connection.execute(
                insert(Event).returning(Event.id, sort_by_parameter_order=True), rows
            )
            .scalars()
            .all()
        )
        connection.execute(
            insert(tables["event_actions"]),
            [{"event_id": e, "action_number": 1 + e % 11} for e in events],
        )
        connection.execute(
            insert(tables["event_priority_areas"]),
            [{"event_id": e, "priority_area_number": 1} for e in events],
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
        connection.execute(insert(Registration), registrations)
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
    upcoming = [
        e for e, row in zip(events, rows, strict=True) if row["starts_at"] > NOW + timedelta(days=1)
    ]
    pairs = []
    while len(pairs) < 60_000:
        event, member = rng.choice(upcoming), rng.choice(members)
        if (event, member) not in registered:
            registered.add((event, member))
            pairs.append((tokens[member], event))
    past_seminars = [
        s for s, row in zip(seminar_ids, seminars, strict=True) if row["voting_close_at"] < NOW
    ]
    return Programme(event_ids=list(events), seminar_ids=past_seminars, pairs=pairs)


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(
    command: list[str], env: dict[str, str], port: int, probe: str
) -> Iterator[subprocess.Popen]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
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


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


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

LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } kep_timespec;
int clock_gettime(int clk_id, kep_timespec *tp);
]]
local clock = ffi.new("kep_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local data = DATA
local threads = {}
local made = 0

function setup(thread)
  made = made + 1
  thread:set("index", made)
  table.insert(threads, thread)
end

function init(args)
  samples = {}
  mine = {}
  for i = index, #data.pairs, data.threads do mine[#mine + 1] = data.pairs[i] end
  used = 0
  math.randomseed(index * 7919)
  weights = 0
  for _, op in ipairs(data.mix) do weights = weights + op[2] end
end

local function pick()
  local r = math.random() * weights
  for _, op in ipairs(data.mix) do
    r = r - op[2]
    if r <= 0 then return op[1] end
  end
  return data.mix[1][1]
end

function request()
  current = pick()
  started = now_us()
  if current == "listing" then
    return wrk.format("GET", data.listings[math.random(#data.listings)])
  elseif current == "event" then
    return wrk.format("GET", "/events/" .. data.events[math.random(#data.events)])
  elseif current == "feed" then
    return wrk.format("GET", data.feed)
  elseif current == "feed_304" then
    return wrk.format("GET", data.feed, {["If-None-Match"] = data.etag})
  elseif current == "tally" then
    return wrk.format("GET", "/seminars/" .. data.seminars[math.random(#data.seminars)] .. "/tally")
  elseif current == "register" and used < #mine then
    used = used + 1
    local pair = mine[used]
    return wrk.format("POST", "/events/" .. pair[2] .. "/registrations",
      {["Authorization"] = "Bearer " .. pair[1]})
  elseif current == "ping" then
    return wrk.format("GET", "/ping")
  end
  current = "listing"
  return wrk.format("GET", data.listings[1])
end

function response(status, headers, body)
  samples[#samples + 1] = current .. " " .. status .. " " .. math.floor(now_us() - started)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("samples")) do io.write("S ", line, "\n") end
  end
  local e = summary.errors
  io.write("E ", e.connect + e.read + e.write + e.timeout, "\n")
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
class Result:
    seconds: float
    samples: dict[str, list[tuple[int, float]]]  # op: (status, latency ms)
    socket_errors: int


def run_wrk(port: int, clients: int, seconds: int, data: dict) -> Result:
    script = LUA.replace("DATA", lua_value({**data, "threads": clients}))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                f"-t{clients}",
                f"-c{clients}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                file.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(file.name)
    samples: dict[str, list[tuple[int, float]]] = defaultdict(list)
    errors = 0
    for line in output.splitlines():
        if line.startswith("S "):
            _, op, status, micros = line.split()
            samples[op].append((int(status), int(micros) / 1000))
        elif line.startswith("E "):
            errors = int(line.split()[1])
    return Result(seconds=seconds, samples=samples, socket_errors=errors)


EXPECTED = {"feed_304": {304}, "register": {201}}


def report(title: str, result: Result, memory: list[float]) -> None:
    total = sum(len(s) for s in result.samples.values())
    errors = result.socket_errors
    print(
        f"\n{title}: {total / result.seconds:,.0f} req/s in all, "
        f"peak worker memory {', '.join(f'{m:.0f}' for m in memory)} MiB"
    )
    print(
        f"  {'operation':<10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    for op, samples in sorted(result.samples.items()):
        latencies = sorted(latency for _, latency in samples)
        expected = EXPECTED.get(op, {200})
        bad = sum(status not in expected for status, _ in samples)
        errors += bad
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        print(
            f"  {op:<10} {len(samples) / result.seconds:>8,.0f} {q[49]:>8.1f} {q[94]:>8.1f} "
            f"{q[98]:>8.1f} {bad:>7}"
        )
    print(f"  errors in all (unexpected statuses and socket errors): {errors}")


# -- the run -------------------------------------------------------------------------------


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="a PostgreSQL database to use and empty")
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with bench_database(args.database_url) as url:
        from alembic import command

        config = alembic_config(url)
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        engine = create_engine(url)
        started = time.perf_counter()
        programme = fill(engine)
        with engine.connect() as connection:
            counts = [
                connection.execute(select(text("count(*)")).select_from(text(table))).scalar_one()
                for table in ("users", "events", "registrations", "supports")
            ]
        engine.dispose()
        print(
            f"programme: {counts[0]} accounts, {counts[1]} events, {counts[2]} registrations, "
            f"{counts[3]} supports (filled in {time.perf_counter() - started:.1f} s)"
        )

        port = free_port()
        env = {**os.environ, "KEP_DATABASE_URL": url}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        command_line = [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ]
        with served(command_line, env, port, "/health") as process:
            base = f"http://127.0.0.1:{port}"
            feed = httpx.get(base + "/calendar.ics")
            mix = [
                (op, weight) for op, weight in MIX if feed.status_code == 200 or "feed" not in op
            ]
            if feed.status_code != 200:
                print("feeds: this version serves no /calendar.ics; they are left out of the mix")
            data = {
                "mix": mix,
                "listings": [
                    "/events?limit=50",
                    "/events?limit=50&offset=500",
                    "/events?action=3&limit=20",
                    "/events?country=BE&limit=20",
                    "/events?from=2027-01-01T00:00Z&to=2027-06-30T00:00Z&limit=50",
                ],
                "events": programme.event_ids,
                "seminars": programme.seminar_ids,
                "feed": "/calendar.ics",
                "etag": feed.headers.get("etag", ""),
            }
            run_wrk(port, 10, 3, {**data, "pairs": []})  # warm up, not counted
            taken = 0
            for clients in args.clients:
                share = programme.pairs[taken : taken + 30_000]
                taken += 30_000
                result = run_wrk(port, clients, args.duration, {**data, "pairs": share})
                report(
                    f"kep serve --workers {args.workers}, {clients} clients",
                    result,
                    peak_memory_mib(process.pid),
                )

        bare_port = free_port()
        bare = [sys.executable, "-m", "benchmarks.bare_app", str(bare_port), str(args.workers)]
        with served(bare, {**os.environ, "PYTHONPATH": str(ROOT)}, bare_port, "/ping") as process:
            ping = {
                "mix": [("ping", 1)],
                "listings": ["/ping"],
                "events": [1],
                "seminars": [1],
                "feed": "/ping",
                "etag": "",
                "pairs": [],
            }
            run_wrk(bare_port, 10, 3, ping)
            for clients in args.clients:
                result = run_wrk(bare_port, clients, args.duration, ping)
                report(
                    f"bare FastAPI, --workers {args.workers}, {clients} clients",
                    result,
                    peak_memory_mib(process.pid),
                )


if __name__ == "__main__":
    main()
