"""Alembic owns the schema: it runs both ways on both databases and matches the models."""

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Integer, String, column, inspect, select, table, text
from sqlalchemy.exc import DBAPIError

from app.cli import alembic_config
from app.db import make_engine, make_sessionmaker
from app.models import Base, Registration, Seminar
from tests.helpers.database import migrate, scratch_database

ROOT = Path(__file__).resolve().parent.parent


def test_models_and_migrations_do_not_differ(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_downgrade_upgrade_on_an_empty_database(backend, tmp_path_factory):
    with scratch_database(backend, tmp_path_factory) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
            assert set(Base.metadata.tables) <= tables
            migrate(url, "base", down=True)
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            migrate(url)
            with engine.connect() as connection:
                actions = connection.execute(text("SELECT count(*) FROM actions")).scalar_one()
            assert actions == 11  # loaded once, and once again after the round trip
        finally:
            engine.dispose()


def test_migration_files_are_named_by_date_and_slug():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in script.walk_revisions():
        name = revision.path.rsplit("/", 1)[-1]
        assert name[:16].replace("-", "").replace("_", "").isdigit(), name
        assert name[10] == "-" and name[15] == "_", name


def test_there_is_one_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_the_audit_trail_is_moved_to_integer_ids_and_instants_written_as_answers_are(
    backend, tmp_path_factory
):
    with scratch_database(backend, tmp_path_factory) as url:
        migrate(url, "0005")
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO audit_entries (at, action, entity_type, entity_id, before, "
                        "after) VALUES (:at, 'seminar.updated', 'seminar', '7', :before, :after)"
                    ),
                    {
                        "at": datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
                        "before": json.dumps({"voting_close_at": "2027-02-01T17:00:00+00:00"}),
                        "after": json.dumps(
                            {
                                "voting_close_at": "2027-02-01T17:00:00.123456+00:00",
                                "items": [{"starts_at": "2027-03-10T08:30:00+00:00"}],
                                "title": "2027-02-01 is a date, not an instant",
                            }
                        ),
                    },
                )
            migrate(url)
            with engine.connect() as connection:
                entity_id, before, after = connection.execute(
                    text("SELECT entity_id, before, after FROM audit_entries")
                ).one()

            def loaded(value):
                return value if isinstance(value, dict) else json.loads(value)

            assert entity_id == 7
            assert loaded(before) == {"voting_close_at": "2027-02-01T17:00:00Z"}
            assert loaded(after) == {
                "voting_close_at": "2027-02-01T17:00:00Z",
                "items": [{"starts_at": "2027-03-10T08:30:00Z"}],
                "title": "2027-02-01 is a date, not an instant",
            }
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text("UPDATE audit_entries SET before = NULL"))
            migrate(url, "0005", down=True)
            with engine.connect() as connection:
                assert connection.execute(text("SELECT entity_id FROM audit_entries")).scalar() in (
                    "7",
                    7,
                )
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text("DELETE FROM audit_entries"))
        finally:
            engine.dispose()


def test_existing_seminars_and_registrations_get_their_zone_and_registration_time(
    backend, tmp_path_factory
):
    with scratch_database(backend, tmp_path_factory) as url:
        migrate(url, "0005")
        engine = make_engine(url)
        at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
        try:
            with engine.begin() as connection:
                user = connection.execute(
                    text(
                        "INSERT INTO users (name, email, role, created_at) "
                        "VALUES ('Ada', 'ada@example.eu', 'admin', :at) RETURNING id"
                    ),
                    {"at": at},
                ).scalar_one()
                event = connection.execute(
                    text(
                        "INSERT INTO events (title, description, kind, status, starts_at, "
                        "ends_at, timezone, online_url, created_by_id, sequence, created_at, "
                        "updated_at) VALUES ('E', '', 'other', 'published', :starts, :ends, "
                        "'Europe/Brussels', 'https://example.eu', :user, 0, :at, :at) "
                        "RETURNING id"
                    ),
                    {
                        "starts": at + timedelta(days=30),
                        "ends": at + timedelta(days=31),
                        "user": user,
                        "at": at,
                    },
                ).scalar_one()
                connection.execute(
                    text(
                        "INSERT INTO registrations (event_id, user_id, status, created_at, "
                        "queue_number, updated_at) VALUES (:event, :user, 'registered', :at, 1, "
                        ":later)"
                    ),
                    {"event": event, "user": user, "at": at, "later": at + timedelta(hours=1)},
                )
                connection.execute(
                    text(
                        "INSERT INTO seminars (year, number, proposals_open_at, "
                        "proposals_close_at, voting_close_at, created_by_id, created_at, "
                        "updated_at) VALUES (2027, 1, :a, :b, :c, :user, :at, :at)"
                    ),
                    {
                        "a": at + timedelta(days=1),
                        "b": at + timedelta(days=2),
                        "c": at + timedelta(days=3),
                        "user": user,
                        "at": at,
                    },
                )
            migrate(url)
            with make_sessionmaker(engine)() as session:
                registration = session.scalars(select(Registration)).one()
                assert registration.registered_at == registration.created_at == at
                assert session.scalars(select(Seminar)).one().timezone == "Europe/Brussels"
        finally:
            engine.dispose()


def test_the_local_start_year_is_filled_in_for_events_stored_before_it(backend, tmp_path_factory):
    """Events stored before the column existed get the year they start in, in their zone."""
    events = table(
        "events",
        column("id", Integer()),
        column("title", String()),
        column("description", String()),
        column("kind", String()),
        column("status", String()),
        column("starts_at", DateTime(timezone=True)),
        column("ends_at", DateTime(timezone=True)),
        column("timezone", String()),
        column("online_url", String()),
        column("created_by_id", Integer()),
        column("sequence", Integer()),
        column("created_at", DateTime(timezone=True)),
        column("updated_at", DateTime(timezone=True)),
    )
    starts = {
        # 23:30 on 31 December 2027 in the Azores is 2028 in UTC.
        1: (datetime(2028, 1, 1, 0, 30, tzinfo=UTC), "Atlantic/Azores", 2027),
        # 01:00 on 1 January 2027 in Helsinki is still 2026 in UTC.
        2: (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "Europe/Helsinki", 2027),
        3: (datetime(2027, 6, 1, 8, 0, tzinfo=UTC), "Europe/Brussels", 2027),
        4: (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "UTC", 2026),
    }
    with scratch_database(backend, tmp_path_factory) as url:
        migrate(url, "0005")
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO users (id, name, email, role, created_at) "
                        "VALUES (1, 'Ada', 'ada@example.eu', 'admin', CURRENT_TIMESTAMP)"
                    )
                )
                now = datetime(2026, 11, 26, tzinfo=UTC)
                for event_id, (starts_at, zone, _year) in starts.items():
                    connection.execute(
                        events.insert().values(
                            id=event_id,
                            title=f"Event {event_id}",
                            description="",
                            kind="other",
                            status="published",
                            starts_at=starts_at,
                            ends_at=starts_at + timedelta(hours=2),
                            timezone=zone,
                            online_url="https://meet.example.eu",
                            created_by_id=1,
                            sequence=0,
                            created_at=now,
                            updated_at=now,
                        )
                    )
            migrate(url)
            with engine.connect() as connection:
                years = dict(
                    connection.execute(text("SELECT id, local_start_year FROM events")).all()
                )
            assert years == {event_id: year for event_id, (_s, _z, year) in starts.items()}
        finally:
            engine.dispose()


def test_four_processes_may_migrate_a_fresh_database_at_once(backend, tmp_path_factory):
    """Several `kep migrate` (or `kep serve` on several hosts) start together: one applies
    the migrations, the others wait for it and find nothing left to do."""
    with scratch_database(backend, tmp_path_factory) as url:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "migrate"],
                env={**os.environ, "KEP_DATABASE_URL": url},
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [(process.wait(timeout=180), process.stderr.read()) for process in processes]
        for process in processes:
            process.stdout.close()
            process.stderr.close()
        assert [code for code, _ in results] == [0, 0, 0, 0], [err[-800:] for _, err in results]
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                versions = connection.execute(text("SELECT version_num FROM alembic_version"))
                assert [row[0] for row in versions] == [
                    ScriptDirectory.from_config(alembic_config(url)).get_current_head()
                ]
                actions = connection.execute(text("SELECT count(*) FROM actions")).scalar_one()
            assert actions == 11
        finally:
            engine.dispose()


def test_existing_events_and_seminars_get_distinct_uids_and_keep_what_points_at_them(
    backend, tmp_path_factory
):
    with scratch_database(backend, tmp_path_factory) as url:
        migrate(url, "0005")
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                _insert_programme_before_uids(connection)
            migrate(url)
            with engine.connect() as connection:
                events = connection.execute(text("SELECT id, uid FROM events")).all()
                seminars = connection.execute(text("SELECT uid, sequence FROM seminars")).all()
                registrations = connection.execute(
                    text("SELECT count(*) FROM registrations")
                ).scalar_one()
            uids = [uid for _id, uid in events] + [uid for uid, _sequence in seminars]
            assert len(uids) == 4 and len(set(uids)) == 4
            assert all(str(uuid.UUID(uid)) == uid for uid in uids)
            assert [sequence for _uid, sequence in seminars] == [0]
            assert registrations == 2
            migrate(url, "0005", down=True)
            migrate(url)
        finally:
            engine.dispose()


def _insert_programme_before_uids(connection) -> None:
    at = "2026-11-25 09:00:00"
    connection.execute(
        text(
            "INSERT INTO users (id, name, email, role, created_at) "
            "VALUES (1, 'Ann', 'ann@example.eu', 'participant', :at)"
        ),
        {"at": at},
    )
    for event_id in (1, 2, 3):
        connection.execute(
            text(
                "INSERT INTO events (id, title, description, kind, status, starts_at, ends_at,"
                " timezone, online_url, created_by_id, sequence, created_at, updated_at)"
                " VALUES (:id, 'E', '', 'other', 'published', '2027-03-10 09:00:00',"
                " '2027-03-10 10:00:00', 'Europe/Brussels', 'https://example.eu', 1, 0,"
                " :at, :at)"
            ),
            {"id": event_id, "at": at},
        )
    for event_id in (1, 2):
        connection.execute(
            text(
                "INSERT INTO registrations (event_id, user_id, status, created_at, queue_number,"
                " updated_at) VALUES (:event_id, 1, 'registered', :at, 1, :at)"
            ),
            {"event_id": event_id, "at": at},
        )
    connection.execute(
        text(
            "INSERT INTO seminars (year, number, proposals_open_at, proposals_close_at,"
            " voting_close_at, event_id, created_by_id, created_at, updated_at) VALUES"
            " (2027, 1, '2026-12-01 09:00:00', '2027-01-15 17:00:00', '2027-02-01 17:00:00',"
            " 3, 1, :at, :at)"
        ),
        {"at": at},
    )


def test_proposals_stored_before_get_their_title_keys_and_repeats_stay(backend, tmp_path_factory):
    """The same topic proposed twice before the rule existed: both proposals stay, the
    later one's key marked with its id; from then on the index refuses a third."""
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    proposals = [
        (1, "Regional innovation valleys", "submitted"),
        (2, "  regional  INNOVATION valleys", "submitted"),
        (3, "Regional innovation valleys", "withdrawn"),
        (4, "Risk data", "submitted"),
    ]
    with scratch_database(backend, tmp_path_factory) as url:
        migrate(url, "0050")
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO users (id, name, email, role, institution, created_at) "
                        "VALUES (1, 'Ada', 'ada@example.eu', 'secretariat', 'jrc', :at)"
                    ),
                    {"at": at},
                )
                connection.execute(
                    text(
                        "INSERT INTO seminars (id, uid, year, number, proposals_open_at, "
                        "proposals_close_at, voting_close_at, created_by_id, sequence, "
                        "created_at, updated_at) VALUES (1, :uid, 2027, 1, :a, :b, :c, 1, 0, "
                        ":at, :at)"
                    ),
                    {
                        "uid": str(uuid.uuid4()),
                        "a": at + timedelta(days=1),
                        "b": at + timedelta(days=2),
                        "c": at + timedelta(days=3),
                        "at": at,
                    },
                )
                for proposal_id, title, status in proposals:
                    connection.execute(
                        text(
                            "INSERT INTO proposals (id, seminar_id, proposer_id, title, "
                            "summary, status, submitted_at, updated_at) VALUES (:id, 1, 1, "
                            ":title, 'A topic.', :status, :at, :at)"
                        ),
                        {"id": proposal_id, "title": title, "status": status, "at": at},
                    )
            migrate(url)
            with engine.connect() as connection:
                keys = dict(connection.execute(text("SELECT id, title_key FROM proposals")).all())
            assert keys == {
                1: "regional innovation valleys",
                2: "regional innovation valleys #2",
                3: "regional innovation valleys",
                4: "risk data",
            }
            with pytest.raises(DBAPIError), engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO proposals (id, seminar_id, proposer_id, title, title_key, "
                        "summary, status, submitted_at, updated_at) VALUES (5, 1, 1, 'Risk data',"
                        " 'risk data', 'Again.', 'submitted', :at, :at)"
                    ),
                    {"at": at},
                )
            migrate(url, "0050", down=True)
            migrate(url)
        finally:
            engine.dispose()
