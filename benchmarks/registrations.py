"""Registrations one after another in one process, with no server and nothing else
running: the time and CPU each costs from the token's lookup to the commit (the
messages and their invitations included), and its statements. Then the mail sender
delivers their messages into a folder, next to the email library alone writing the same
messages with its legacy API (as the sender does) and with its modern one: the CPU each
message costs the sender, and what of it is the library's.

    .venv/bin/python benchmarks/registrations.py [--count 300] [--split]
    .venv/bin/py-spy record -f raw -o registrations.txt -- \\
        .venv/bin/python benchmarks/registrations.py     # where the time goes

Fills a PostgreSQL database of its own with ``load.py``'s programme (each event's public
VEVENT kept, as publishing leaves it), makes 50 registrations to warm up, then
``--count`` more, each to an event picked at random, as ``load.py``'s writes are.
``--split`` then makes ``--count`` more three ways in turns, three times: as the service
does, as it does with no message written, and as ``write_floor.py`` does (the
statements alone), and prints the median CPU of each.
"""

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Response
from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.clock import system_clock
from app.config import Settings
from app.main import create_app
from app.models import OutboxMessage
from app.notifications.mail import DirectoryTransport, mime, standard_mime
from app.notifications.sender import Sender
from benchmarks.instructions import register_directly
from benchmarks.load import programme_database
from benchmarks.no_message import without_messages

WARM_UP = 50


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument(
        "--split",
        action="store_true",
        help="also the service without its message, and the floor, in turns",
    )
    args = parser.parse_args()
    with programme_database() as (url, programme), tempfile.TemporaryDirectory() as folder:
        settings = Settings(  # type: ignore[call-arg]
            database_url=url, send_mail_in_process=False, mail_dir=folder, _env_file=None
        )
        app = create_app(settings)
        statements: list[str] = []
        event.listen(app.state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

        pairs = iter(programme.pairs)
        for token, event_id in itertools.islice(pairs, WARM_UP):
            register_directly(app, token, event_id)
        statements.clear()
        wall, cpu = timed(partial(register_directly, app), pairs, args.count)
        print(
            f"{args.count} registrations: {wall:.1f} ms each, {cpu:.1f} ms of CPU, "
            f"{len(statements) / args.count:.1f} statements (the token's last use written "
            "inline, once a minute per token, among them)"
        )
        if args.split:
            split(app, pairs, args.count, url)
        delivery(app.state.sessionmaker, settings, statements)
        app.state.engine.dispose()


def timed(
    register: Callable[[str, int], object], pairs: Iterator[tuple[str, int]], count: int
) -> tuple[float, float]:
    """Wall and CPU time per registration, in ms, of ``register`` over ``count`` pairs."""
    cpu, started = time.process_time(), time.perf_counter()
    for token, event_id in itertools.islice(pairs, count):
        register(token, event_id)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return 1000 * wall / count, 1000 * cpu / count


def split(app: Any, pairs: Iterator[tuple[str, int]], count: int, url: str) -> None:
    """Where a registration's CPU goes, in turns on the same warm process: the service as
    it is, the service with no message written (what the message with its invitation
    costs), and the floor of benchmarks/write_floor.py (the statements alone)."""
    os.environ["KEP_DATABASE_URL"] = url
    from benchmarks import write_floor

    through_service = partial(register_directly, app)

    def through_floor(token: str, event_id: int) -> None:
        write_floor.register(event_id, Response(), f"Bearer {token}")

    ways = {
        "the service": (through_service, contextlib.nullcontext),
        "without its message": (through_service, without_messages),
        "the floor": (through_floor, contextlib.nullcontext),
    }
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for _turn in range(3):
        for name, (register, around) in ways.items():
            with around():
                cpu[name].append(timed(register, pairs, count)[1])
    print(
        f"In turns, {count} registrations each, ms of CPU per registration (median of 3): "
        + ", ".join(f"{name} {statistics.median(ms):.2f}" for name, ms in cpu.items())
    )


def delivery(sessions: Any, settings: Settings, statements: list[str]) -> None:
    """The sender delivering what is queued, then the email library alone writing the same
    messages into another folder: CPU per message of each."""
    with sessions() as session:
        messages = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
    statements.clear()
    cpu = time.process_time()
    delivered = Sender(sessions, settings).run_once()
    sender_ms = 1000 * (time.process_time() - cpu) / max(delivered.sent, 1)
    sender_statements = len(statements) / max(delivered.sent, 1)
    library = {name: writing(build, messages, settings) for name, build in WRITERS.items()}
    print(
        f"{delivered.sent} messages delivered: the sender {sender_ms:.2f} ms of CPU and "
        f"{sender_statements:.1f} statements each. The email library alone, writing the "
        "same messages: " + ", ".join(f"{name} {ms:.2f} ms each" for name, ms in library.items())
    )


# The two ways the sender can write a message (``app.notifications.mail.mime``).
WRITERS = {"its legacy API (the sender's)": mime, "its modern API": standard_mime}


def writing(build: Any, messages: list[OutboxMessage], settings: Settings) -> float:
    """CPU per message of ``build`` writing ``messages`` into a folder, in ms."""
    with tempfile.TemporaryDirectory() as folder:
        cpu = time.process_time()
        with DirectoryTransport(Path(folder)).connection() as write:
            for message in messages:
                write(build(message, settings=settings, now=system_clock(), unsubscribe=None))
        return 1000 * (time.process_time() - cpu) / max(len(messages), 1)


if __name__ == "__main__":
    main()
