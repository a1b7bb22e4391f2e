"""Two senders at once, as two `kep worker` processes (or two servers) would run: each
message is delivered exactly once and each time-based notice fires once. Real commits,
each sender with its own connections, on PostgreSQL (row locks, SKIP LOCKED) and on
SQLite (the write lock)."""

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.models import Invitation, MessageStatus, Notice, OutboxMessage, Role, Seminar, User
from app.notifications import sender as sending
from app.notifications.outbox import Draft, enqueue
from app.notifications.sender import Sender
from tests.helpers.mail import SmtpServer

MESSAGES = 60


def _senders(url: str, settings: Settings, clock, count: int = 2):
    engines = [make_engine(url, pool_size=2) for _ in range(count)]
    senders = [Sender(make_sessionmaker(engine), settings, clock=clock) for engine in engines]
    return engines, senders


def _race(senders: list[Sender], rounds: int = 1) -> list[BaseException]:
    start = threading.Barrier(len(senders))
    errors: list[BaseException] = []

    def run(sender: Sender) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                sender.run_once()
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_two_senders_deliver_each_message_exactly_once(
    race_database, race_account, clock, monkeypatch
):
    monkeypatch.setattr(sending, "BATCH", 4)  # many small claims, so that the two interleave
    smtp = SmtpServer()
    smtp.start()
    settings = Settings(  # type: ignore[call-arg]
        database_url=race_database, smtp_url=smtp.url, _env_file=None
    )
    people = [race_account("participant") for _ in range(3)]
    run = uuid.uuid4().hex
    sessions = make_sessionmaker(make_engine(race_database))
    with sessions.begin() as session:
        for number in range(MESSAGES):
            draft = Draft(
                kind="registration_confirmed",
                key=f"race:{run}:{number}",
                subject=f"Message {number}",
                body="Text",
                user=session.merge(people[number % 3].user),
            )
            enqueue(session, draft, settings=settings, now=clock())
    engines, senders = _senders(race_database, settings, clock)
    try:
        assert _race(senders) == []
        delivered = [m.mail["Message-ID"] for m in smtp.received if m.subject.startswith("Message")]
        assert len(delivered) == MESSAGES
        assert len(set(delivered)) == MESSAGES  # none twice
        with sessions() as session:
            statuses = session.execute(
                select(OutboxMessage.status, OutboxMessage.attempts, func.count())
                .where(OutboxMessage.idempotency_key.like(f"race:{run}:%"))
                .group_by(OutboxMessage.status, OutboxMessage.attempts)
            ).all()
        assert [tuple(row) for row in statuses] == [(MessageStatus.sent, 1, MESSAGES)]
    finally:
        smtp.stop()
        for engine in engines:
            engine.dispose()
        sessions.kw["bind"].dispose()


def test_a_notice_fires_once_when_two_senders_find_it_due(
    race_database, race_account, clock, tmp_path
):
    race_account("member")
    race_account("member")
    settings = Settings(  # type: ignore[call-arg]
        database_url=race_database, mail_dir=tmp_path, _env_file=None
    )
    sessions = make_sessionmaker(make_engine(race_database))
    with sessions.begin() as session:
        creator = session.scalars(select(User.id).where(User.role == Role.member)).first()
        year = random.randint(3000, 9999)  # out of the way of other tests' seminars
        seminar = Seminar(
            year=year,
            number=1,
            proposals_open_at=clock() - timedelta(hours=1),
            proposals_close_at=clock() + timedelta(days=30),
            voting_close_at=clock() + timedelta(days=40),
            created_by_id=creator,
        )
        session.add(seminar)
        session.flush()
        seminar_id = seminar.id
        members = session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.member)
        )
    engines, senders = _senders(race_database, settings, clock, count=3)
    try:
        assert _race(senders, rounds=2) == []
        prefix = f"seminar:{seminar_id}:proposals_open:"
        with sessions() as session:
            fired = session.scalar(
                select(func.count()).select_from(Notice).where(Notice.key.like(f"{prefix}%"))
            )
            queued = session.scalars(
                select(OutboxMessage.user_id).where(
                    OutboxMessage.idempotency_key.like(f"{prefix}%")
                )
            ).all()
        assert fired == 1
        assert len(queued) == members == len(set(queued))
        label = f"Seminar 1 of {year}: the call for topics is open"
        files = [f for f in tmp_path.glob("*.eml") if label in f.read_text()]
        assert len(files) == members
    finally:
        for engine in engines:
            engine.dispose()
        sessions.kw["bind"].dispose()


def test_token_recovery_holds_its_limit_when_requests_arrive_together(
    race_client, race_account, race_database
):
    _base_url, client = race_client
    owner = race_account("participant")
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(
                lambda _: client.post("/token-recovery", json={"email": owner.user.email}),
                range(12),
            )
        )
    assert {answer.status_code for answer in answers} == {202}
    sessions = make_sessionmaker(make_engine(race_database))
    try:
        with sessions() as session:
            links = session.scalar(
                select(func.count())
                .select_from(Invitation)
                .where(Invitation.user_id == owner.id, Invitation.purpose == "recovery")
            )
            mails = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.user_id == owner.id, OutboxMessage.kind == "token_recovery")
            )
        limit = Settings(_env_file=None).recovery_per_hour  # type: ignore[call-arg]
        assert links == mails == limit
    finally:
        sessions.kw["bind"].dispose()
