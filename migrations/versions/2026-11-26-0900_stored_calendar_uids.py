"""Events and seminars keep a calendar UID for life; seminars count their versions

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-26 09:00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill_uids(table: str) -> None:
    """A random UUID for every existing row, as new rows get when they are created."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column("uid", sa.String))
    ids = bind.execute(sa.select(rows.c.id).where(rows.c.uid.is_(None))).scalars().all()
    if ids:
        bind.execute(
            rows.update().where(rows.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "uid": str(uuid.uuid4())} for row_id in ids],
        )


def upgrade() -> None:
    for table in ("events", "seminars"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("uid", sa.String(length=36), nullable=True))
        _backfill_uids(table)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("uid", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_events_uid"), ["uid"])
    with op.batch_alter_table("seminars", schema=None) as batch_op:
        batch_op.alter_column("uid", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_seminars_uid"), ["uid"])
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_check_constraint(
            batch_op.f("ck_seminars_sequence_not_negative"), "sequence >= 0"
        )
    with op.batch_alter_table("seminars", schema=None) as batch_op:
        batch_op.alter_column("sequence", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("seminars", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_seminars_sequence_not_negative"), type_="check")
        batch_op.drop_column("sequence")
        batch_op.drop_constraint(batch_op.f("uq_seminars_uid"), type_="unique")
        batch_op.drop_column("uid")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_events_uid"), type_="unique")
        batch_op.drop_column("uid")
