"""Alembic owns the schema: it runs both ways on both databases and matches the models."""

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Integer, String, column, inspect, table, text

from app.cli import alembic_config
from app.db import make_engine
from app.models import Base
from tests.helpers.database import migrate, scratch_database


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
