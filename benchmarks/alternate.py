"""Two source trees served in turn on one programme, for figures that the noise of one
run each would hide: the tail of kept reads and of ``/health``, and the first reads of a
hundred tokens unused for a minute (each used to cost a commit that outdated every kept
answer).

    .venv/bin/python benchmarks/alternate.py --before DIR [--after DIR] [--rounds 3]

Fills a PostgreSQL database of its own with ``load.py``'s programme, then, round after
round, serves each tree with ``kep serve --workers 2`` and runs ``wrk`` at 50 clients:
single events (200 of them, warmed first), ``/health``, and "my registrations" for 100
members, first with their tokens' last use cleared, then again. Prints one line per
tree and round.
"""

import argparse
import os
import random
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import (
    ROOT,
    Run,
    free_port,
    programme_database,
    run_wrk,
    serve_command,
    served,
    workers_of,
)

CLIENTS = 50


def _shown(run: Run) -> str:
    return f"{run.rate:,.0f} req/s, p95 {run.p95:,.0f} / p99 {run.p99:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with programme_database() as (url, programme):
        engine = create_engine(url)
        events = [f"/events/{event}" for event in random.Random(3).sample(programme.event_ids, 200)]
        mine = {"paths": ["/me/registrations"] * 100, "tokens": programme.member_tokens[:100]}
        env = {**os.environ, "KEP_DATABASE_URL": url, "KEP_SEND_MAIL_IN_PROCESS": "0"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        print(
            f"{CLIENTS} clients, kep serve --workers 2, PostgreSQL; load average "
            + " ".join(f"{load:.2f}" for load in os.getloadavg())
        )
        for round_ in range(1, args.rounds + 1):
            for name, source in (("before", args.before), ("after", args.after)):
                with engine.begin() as connection:  # every token unused for over a minute
                    connection.execute(text("UPDATE api_tokens SET last_used_at = NULL"))
                port = free_port()
                with served(serve_command(port, 2), env, port, "/health", source) as process:
                    workers = workers_of(process.pid)
                    run_wrk(port, CLIENTS, 4, {"paths": events}, workers)
                    event = run_wrk(port, CLIENTS, 8, {"paths": events}, workers)
                    health = run_wrk(port, CLIENTS, 6, {"paths": ["/health"]}, workers)
                    first = run_wrk(port, CLIENTS, 8, mine, workers)
                    again = run_wrk(port, CLIENTS, 8, mine, workers)
                print(
                    f"round {round_}, {name}: an event {_shown(event)} | /health "
                    f"{_shown(health)} | my registrations, first {_shown(first)}, "
                    f"again {_shown(again)}",
                    flush=True,
                )
        engine.dispose()


if __name__ == "__main__":
    main()
