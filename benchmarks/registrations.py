"""Registrations one after another in one process, with no server and nothing else
running: the time and CPU each costs from the token's lookup to the commit (the
messages and their invitations included), and its statements.

    .venv/bin/python benchmarks/registrations.py [--count 300]
    .venv/bin/py-spy record -f raw -o registrations.txt -- \\
        .venv/bin/python benchmarks/registrations.py     # where the time goes

Fills a PostgreSQL database of its own with ``load.py``'s programme (each event's public
VEVENT kept, as publishing leaves it), makes 50 registrations to warm up, then
``--count`` more, each to an event picked at random, as ``load.py``'s writes are.
"""

import argparse
import sys
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.auth.deps import _token_user
from app.auth.tokens import hash_token
from app.clock import system_clock
from app.config import Settings
from app.db import HELD
from app.events import registrations
from app.main import create_app
from benchmarks.load import programme_database

WARM_UP = 50


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    with programme_database() as (url, programme):
        app = create_app(Settings(database_url=url, send_mail_in_process=False, _env_file=None))  # type: ignore[call-arg]
        statements: list[str] = []
        event.listen(app.state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

        def register(token: str, event_id: int) -> None:
            """What the endpoint does, as a request's session does it."""
            with app.state.sessionmaker() as session:
                session.info["settings"] = app.state.settings
                session.info[HELD] = []
                user, _used = _token_user(session, system_clock, hash_token(token))
                registrations.register(
                    session=session, user=user, event_id=event_id, now=system_clock()
                )
                session.commit()

        for token, event_id in programme.pairs[:WARM_UP]:
            register(token, event_id)
        statements.clear()
        cpu, started = time.process_time(), time.perf_counter()
        for token, event_id in programme.pairs[WARM_UP : WARM_UP + args.count]:
            register(token, event_id)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        app.state.engine.dispose()
    print(
        f"{args.count} registrations: {1000 * wall / args.count:.1f} ms each, "
        f"{1000 * cpu / args.count:.1f} ms of CPU, "
        f"{len(statements) / args.count:.1f} statements (the token's last use written "
        "inline, once a minute per token, among them)"
    )


if __name__ == "__main__":
    main()
