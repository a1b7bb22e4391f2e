"""Alembic owns the schema: it runs both ways on both databases and matches the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

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
