"""Alembic owns the schema: it runs both ways on both databases and matches the models."""

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.cli import alembic_config
from app.db import make_engine
from app.models import Base
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
