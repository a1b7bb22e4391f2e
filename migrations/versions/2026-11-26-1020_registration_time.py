"""A registration keeps when its place was last asked for

The row of a registration is reused when someone registers again after cancelling, so
`created_at` keeps the first registration; `registered_at` is the one that counts for
the host. Existing registrations were asked for when they were made.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE registrations SET registered_at = created_at")
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.alter_column(
            "registered_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_column("registered_at")
