"""What mail costs: the requests that write messages, and the sender's pace.

    .venv/bin/python benchmarks/mail.py [--database-url URL] [--registrants 200]
        [--members 300] [--messages 500]

Prints, side by side in one run:

- a registration (`POST /events/{id}/registrations`, which writes a confirmation with a
  calendar invitation), the same into an event `--registrants` people registered for,
  and the cancellation of an event with `--registrants` people
  (one message and one invitation each), with the outbox's writing switched on and, as
  the reference, switched off;
- the sender delivering `--messages` messages to an SMTP server in this process
  (aiosmtpd, a dev dependency) and into a folder of .eml files;
- a call for topics announced to every member (the notice the sender fires when a
  seminar's call opens), to a tenth of `--members` members and to all of them: the time
  and the statements, which should not grow with the members.

The default database is a fresh SQLite file; a PostgreSQL URL must name an empty
database of its own.
"""

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event as orm_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.cli import migrate
from app.config import Settings
from app.main import create_app
from app.models import MessageStatus, OutboxMessage, Role
from app.notifications import reactions
from app.notifications.mail import DirectoryTransport, SmtpTransport
from app.notifications.notices import fire_due
from app.notifications.sender import Sender
from tests.helpers.mail import SmtpServer
from tests.helpers.seminars import iso

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
# When the calls of seminars 1 and 2 of 2027 open.
CALL = datetime(2026, 12, 1, 9, tzinfo=UTC)
SECOND_CALL = datetime(2027, 4, 1, 9, tzinfo=UTC)
EVENT = {
    "title": "Benchmark seminar",
    "kind": "other",
    "status": "published",
    "starts_at": "2027-03-10T09:30",
    "ends_at": "2027-03-10T17:00",
    "timezone": "Europe/Brussels",
    "venue": {"name": "Jacques Delors building", "city": "Brussels", "country": "BE"},
    "actions": [3],
}


@contextmanager
def mail_written(on: bool):
    if on:
        yield
        return
    orm_event.remove(Session, "before_commit", reactions._write_messages)
    try:
        yield
    finally:
        orm_event.listen(Session, "before_commit", reactions._write_messages)


def people(app, role: Role, count: int, tag: str) -> list[str]:
    tokens = []
    with app.state.sessionmaker.begin() as session:
        for n in range(count):
            data = UserCreate(
                name=f"{role.value} {tag} {n}",
                email=f"{tag}-{n}@example.eu",
                role=role,
                institution="cor_sedec" if role == Role.secretariat else None,
                member_state="PT" if role == Role.member else None,
                region="Norte" if role == Role.member else None,
            )
            made = users.create_account(session=session, data=data, token_label="b", now=NOW)
            tokens.append(made.secret)
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def timed(call, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.mean(times), statistics.median(times)


def requests(app, client, registrants: int) -> None:
    staff = bearer(people(app, Role.secretariat, 1, "staff")[0])
    rows = []
    for on in (False, True):
        label = "outbox on" if on else "outbox off (reference)"
        with mail_written(on):
            tokens = people(app, Role.participant, 30, f"reg-{on}")
            event_id = client.post("/events", headers=staff, json=EVENT).json()["id"]
            queue = iter(tokens)

            def register(event_id: int = event_id, queue=queue) -> None:
                answer = client.post(
                    f"/events/{event_id}/registrations", headers=bearer(next(queue))
                )
                assert answer.status_code == 201, answer.text

            rows.append((f"POST /events/{{id}}/registrations, {label}", *timed(register, 30)))

            cancels = []
            for round_ in range(3):
                crowd = people(app, Role.participant, registrants, f"c-{on}-{round_}")
                event_id = client.post("/events", headers=staff, json=EVENT).json()["id"]
                for token in crowd:
                    client.post(f"/events/{event_id}/registrations", headers=bearer(token))
                if round_ == 0:  # thirty more, into an event that many were invited to
                    late = iter(people(app, Role.participant, 30, f"late-{on}"))
                    rows.append(
                        (
                            f"POST /events/{{id}}/registrations, {registrants} there, {label}",
                            *timed(partial(register, event_id, late), 30),
                        )
                    )
                started = time.perf_counter()
                answer = client.post(
                    f"/events/{event_id}/cancel", headers=staff, json={"reason": "Benchmark"}
                )
                cancels.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.text
            rows.append(
                (
                    f"POST /events/{{id}}/cancel, {registrants} registered, {label}",
                    statistics.mean(cancels),
                    statistics.median(cancels),
                )
            )
    print(f"{'request':<66} {'mean ms':>8} {'median ms':>9}")
    for name, mean, median in rows:
        print(f"{name:<66} {mean:8.1f} {median:9.1f}")


def call_for_topics(app, client, settings: Settings, members: int) -> None:
    """The notice of a call's opening to every member, as the sender fires it, for a tenth
    of ``members`` and then for all (a seminar each)."""
    staff = bearer(people(app, Role.secretariat, 1, "call-staff")[0])
    print(f"\n{'a call for topics announced':<66} {'ms':>8} {'statements':>10}")
    statements: list[str] = []

    def counting(_connection, _cursor, statement: str, *_args) -> None:
        statements.append(statement)

    had = 0
    for number, (count, opens) in enumerate(((members // 10, CALL), (members, SECOND_CALL)), 1):
        people(app, Role.member, count - had, f"member-{number}")
        had = count
        seminar = {
            "year": 2027,
            "number": number,
            "proposals_open_at": iso(opens),
            "proposals_close_at": iso(opens + timedelta(days=30)),
            "voting_close_at": iso(opens + timedelta(days=45)),
        }
        answer = client.post("/seminars", headers=staff, json=seminar)
        assert answer.status_code == 201, answer.text
        statements.clear()
        orm_event.listen(app.state.engine, "before_cursor_execute", counting)
        started = time.perf_counter()
        fired = fire_due(app.state.sessionmaker, settings=settings, now=opens + timedelta(hours=1))
        elapsed = (time.perf_counter() - started) * 1000
        orm_event.remove(app.state.engine, "before_cursor_execute", counting)
        assert fired == 1, fired
        print(f"{f'to {count} members':<66} {elapsed:8.1f} {len(statements):10d}")


def sender_pace(app, settings: Settings, messages: int) -> None:
    sessions = app.state.sessionmaker
    print(f"\n{'sender':<66} {'messages':>8} {'per second':>10}")
    smtp = SmtpServer()
    smtp.start()
    try:
        for name, transport in (
            ("SMTP server in this process (aiosmtpd)", SmtpTransport(smtp.url, 30)),
            (".eml files", DirectoryTransport(Path(tempfile.mkdtemp(prefix="kep-mail-")))),
        ):
            with sessions.begin() as session:  # the same messages, queued again
                session.execute(
                    update(OutboxMessage).values(
                        status=MessageStatus.pending, next_attempt_at=NOW, attempts=0
                    )
                )
                queued = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
            sender = Sender(sessions, settings, transport=transport, clock=lambda: NOW)
            started = time.perf_counter()
            sent = 0
            while sent < min(messages, queued):
                sent += sender.run_once().sent
            elapsed = time.perf_counter() - started
            print(f"{name:<66} {sent:8d} {sent / elapsed:10.0f}")
    finally:
        smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--registrants", type=int, default=200)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='kep-bench-')}/kep.db"
    settings = Settings(database_url=url, send_mail_in_process=False, _env_file=None)  # type: ignore[call-arg]
    migrate(settings, own_logging=False)
    app = create_app(settings)
    print(f"database: {url.split(':', 1)[0]}")
    with TestClient(app) as client:
        requests(app, client, args.registrants)
        sender_pace(app, settings, args.messages)  # the messages of the requests above only
        call_for_topics(app, client, settings, args.members)
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
