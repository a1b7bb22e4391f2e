"""The audit trail names entities by integer id, and writes instants as answers do

`audit_entries.entity_id` becomes an integer (every entity has one: an action's number,
the others' ids). Instants in the snapshots, written until now as `+00:00` with
microseconds, are rewritten as every answer writes them: UTC to the second with a `Z`.
The rows are history, so their append-only guard is lifted for this migration only.

Revision ID: 0020
Revises: 0011
Create Date: 2026-11-26 10:00:00
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "audit_entries"
# What the snapshots held for an instant: Python's isoformat of an aware UTC datetime.
OLD_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _guard(on: bool) -> None:
    """Switch the append-only guard of ``audit_entries`` (made in revision 0003)."""
    if _postgresql():
        verb = "ENABLE" if on else "DISABLE"
        op.execute(f"ALTER TABLE {TABLE} {verb} TRIGGER {TABLE}_append_only")
        return
    for kind in ("update", "delete"):
        if on:
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{kind} BEFORE {kind.upper()} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{kind}")


def _rewritten(value: Any) -> Any:
    if isinstance(value, str) and OLD_INSTANT.match(value):
        moment = datetime.fromisoformat(value).astimezone(UTC)
        return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    if isinstance(value, dict):
        return {key: _rewritten(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewritten(item) for item in value]
    return value


def _rewrite_instants() -> None:
    entries = sa.table(
        TABLE,
        sa.column("id", sa.Integer),
        sa.column("before", sa.JSON),
        sa.column("after", sa.JSON),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(entries.c.id, entries.c.before, entries.c.after)).all():
        before, after = _rewritten(row.before), _rewritten(row.after)
        if (before, after) != (row.before, row.after):
            bind.execute(
                entries.update().where(entries.c.id == row.id).values(before=before, after=after)
            )


def _retype(to: sa.types.TypeEngine[Any], using: str) -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.alter_column(
            "entity_id",
            existing_type=sa.String(length=50) if isinstance(to, sa.Integer) else sa.Integer(),
            type_=to,
            existing_nullable=False,
            postgresql_using=using,
        )


def upgrade() -> None:
    _guard(on=False)
    _retype(sa.Integer(), "entity_id::integer")
    _rewrite_instants()
    _guard(on=True)


def downgrade() -> None:
    _guard(on=False)
    _retype(sa.String(length=50), "entity_id::text")
    _guard(on=True)
