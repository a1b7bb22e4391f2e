"""Instructions per registration, counted by valgrind's callgrind: the same count for the
same code and data however busy the machine is, where its seconds vary by a fifth from
one run to the next. Four figures, each from a process of its own:

- the bare app's request, through httpx's ASGI transport (the least a request costs:
  the client, the framework and one trip to a worker thread);
- a registration through the application, the same way (the token's lookup, the
  middleware, the endpoint, the message and its invitation, the commit);
- the registration's service calls alone, with no HTTP around them;
- the floor under a registration, through ASGI: its statements alone on the bare app
  (``write_floor.py``).

    .venv/bin/python benchmarks/instructions.py [--count 100] [--source DIR]

Each process makes 100 registrations (or requests) before it counts, then counts
``--count`` more, one after another, each to an event picked at random on ``load.py``'s
programme. Only the process's own instructions are counted: PostgreSQL's are not, nor
the time spent waiting for it. ``--source DIR`` counts the code of another tree (such
as an earlier commit unpacked with ``git archive``) on the same programme.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

WARM_UP = 100
ROOT = Path(__file__).resolve().parent.parent
KINDS = {
    "bare": "the bare app's request, through ASGI",
    "http": "a registration, through ASGI",
    "direct": "a registration's service calls alone",
    "floor": "the floor: its statements alone, ASGI",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--pairs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pairs = json.loads(args.pairs.read_text()) if args.pairs else []
        counted(args.child, args.url, pairs, args.count)
        return

    from benchmarks.load import programme_database

    source = args.source.resolve()
    with programme_database() as (url, programme), tempfile.TemporaryDirectory() as folder:
        share = WARM_UP + args.count
        figures = {}
        for number, kind in enumerate(KINDS):
            pairs = Path(folder) / f"{kind}.json"
            pairs.write_text(json.dumps(programme.pairs[number * share : (number + 1) * share]))
            figures[kind] = instructions(kind, url, pairs, args.count, source, Path(folder))
    print(f"{source}: instructions per request, {args.count} counted after {WARM_UP}")
    for kind, description in KINDS.items():
        ratio = figures[kind] / figures["bare"]
        print(f"  {description:40} {figures[kind] / 1e6:6.2f} million  ({ratio:4.1f}× bare)")


def instructions(kind: str, url: str, pairs: Path, count: int, source: Path, folder: Path) -> float:
    """Instructions per request of one child process, counted by callgrind."""
    output = folder / f"callgrind.{kind}"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={output}",
        sys.executable,
        __file__,
        "--child",
        kind,
        "--url",
        url,
        "--pairs",
        str(pairs),
        "--count",
        str(count),
    ]
    env = {**os.environ, "PYTHONPATH": str(source)}
    subprocess.run(command, cwd=source, env=env, check=True, capture_output=True)
    total = 0
    for written in folder.glob(f"callgrind.{kind}*"):  # one file per thread, if any
        for line in written.read_text().splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
                break
    return total / count


def _counting(on: bool) -> None:
    """Instrumentation on or off for this process (``--instr-atstart=no`` starts it off)."""
    switch = "on" if on else "off"
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], capture_output=True)


def counted(kind: str, url: str, pairs: list[tuple[str, int]], count: int) -> None:
    if kind == "direct":
        return direct(url, pairs, count)
    import httpx

    if kind == "bare":
        from benchmarks.bare_app import app

        requests = [("GET", "/ping", {})] * (WARM_UP + count)
    else:
        if kind == "floor":
            os.environ["KEP_DATABASE_URL"] = url
            from benchmarks.write_floor import app
        else:
            from app.config import Settings
            from app.main import create_app

            app = create_app(Settings(database_url=url, send_mail_in_process=False, _env_file=None))  # type: ignore[call-arg]
        requests = [
            ("POST", f"/events/{event_id}/registrations", {"Authorization": f"Bearer {token}"})
            for token, event_id in pairs
        ]

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://kep") as client,
        ):
            for number, (method, path, headers) in enumerate(requests):
                if number == WARM_UP:
                    _counting(True)
                answer = await client.request(method, path, headers=headers)
                assert answer.status_code in (200, 201), answer.text
            _counting(False)

    asyncio.run(run())


def direct(url: str, pairs: list[tuple[str, int]], count: int) -> None:
    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(database_url=url, send_mail_in_process=False, _env_file=None))  # type: ignore[call-arg]
    for number, (token, event_id) in enumerate(pairs):
        if number == WARM_UP:
            _counting(True)
        register_directly(app, token, event_id)
    _counting(False)
    app.state.engine.dispose()


def register_directly(app: Any, token: str, event_id: int) -> None:
    """What the registration endpoint does, as a request's session does it: who the
    token stands for, the registration, and the commit with its message."""
    from app.auth.deps import _token_user
    from app.auth.tokens import hash_token
    from app.clock import system_clock
    from app.db import HELD
    from app.events import registrations

    with app.state.sessionmaker() as session:
        session.info["settings"] = app.state.settings
        session.info[HELD] = []
        user, _used = _token_user(session, system_clock, hash_token(token))
        registrations.register(session=session, user=user, event_id=event_id, now=system_clock())
        session.commit()


if __name__ == "__main__":
    main()
