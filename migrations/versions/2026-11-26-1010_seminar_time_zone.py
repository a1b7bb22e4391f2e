"""A seminar keeps the time zone its dates were set in

Wall-clock dates are read in it, and answers give the dates' local times in it. Seminars
made before it existed were set by DG RTD and CoR SEDEC in Brussels.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("seminars", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "timezone",
                sa.String(length=64),
                server_default="Europe/Brussels",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("seminars", schema=None) as batch_op:
        batch_op.drop_column("timezone")
