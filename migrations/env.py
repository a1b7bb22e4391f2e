"""Alembic environment: the URL from the service's settings, or a connection handed in."""

from contextlib import nullcontext
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text

from app.config import get_settings
from app.db import make_engine
from app.models import Base
from app.models.base import UTCDateTime

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Several processes may start at once (kep serve on several hosts, kep migrate in a
# deployment job). On PostgreSQL they queue on this advisory lock, held until the
# migrations' transaction ends: the first applies the migrations, the others then find
# nothing left to do. On SQLite the transaction's write lock (BEGIN IMMEDIATE) does the same.
MIGRATION_LOCK = 0x6B65_7000  # "kep" and a zero: any number other tools do not use


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or get_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _render_item(kind: str, obj: object, _context: object) -> str | bool:
    # Migrations name plain SQLAlchemy types, never the application's own classes.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    # SQLite alters a table by rebuilding it (copy, drop, rename), and dropping a table
    # that other rows reference fails while foreign keys are enforced. They are switched
    # off for the run (outside any transaction, where the pragma takes effect), and every
    # reference is checked before the transaction commits.
    sqlite = None
    if connection.dialect.name == "sqlite" and not connection.in_transaction():
        sqlite = connection.connection.driver_connection
        sqlite.execute("PRAGMA foreign_keys = OFF")
    try:
        # One transaction for the whole run, begun before Alembic reads the current
        # version: on SQLite it takes the write lock at once; on PostgreSQL the advisory
        # lock follows.
        outer = nullcontext() if connection.in_transaction() else connection.begin()
        with outer:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            _configure_and_run(connection)
            if sqlite is not None:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left broken references: {broken[:5]}")
    finally:
        if sqlite is not None:
            sqlite.execute("PRAGMA foreign_keys = ON")


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        with context.begin_transaction():
            context.run_migrations()
        return
    # SQLite changes a column by rebuilding its table (create, copy, drop, rename).
    # Dropping a table that other rows point at breaks their foreign keys for a moment,
    # which SQLite cannot defer past the rename; so, as SQLite's documentation
    # prescribes, enforcement is off while the migrations run (it can only be switched
    # outside a transaction), and every foreign key is checked before they commit.
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            broken = driver.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migrations left rows pointing at nothing: {broken[:5]}")
    finally:
        driver.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
