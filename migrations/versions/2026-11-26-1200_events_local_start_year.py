"""Events keep the year in which they start in their own zone, for reports by year

Revision ID: 0040
Revises: 0030
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

events = sa.table(
    "events",
    sa.column("id", sa.Integer()),
    sa.column("starts_at", sa.DateTime(timezone=True)),
    sa.column("timezone", sa.String()),
    sa.column("local_start_year", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_start_year", sa.Integer(), nullable=True))

    # Computed here as the service computes it (SQLite has no time-zone functions): the
    # UTC instant read on the event's own zone's calendar.
    connection = op.get_bind()
    rows = connection.execute(sa.select(events.c.id, events.c.starts_at, events.c.timezone))
    years = []
    for event_id, starts_at, zone in rows:
        instant = starts_at.replace(tzinfo=UTC) if starts_at.tzinfo is None else starts_at
        years.append({"key": event_id, "year": instant.astimezone(ZoneInfo(zone)).year})
    if years:
        connection.execute(
            events.update()
            .where(events.c.id == sa.bindparam("key"))
            .values(local_start_year=sa.bindparam("year")),
            years,
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("local_start_year", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(
            "ix_events_local_start_year_status", ["local_start_year", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_local_start_year_status")
        batch_op.drop_column("local_start_year")
