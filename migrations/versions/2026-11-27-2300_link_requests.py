"""Sign-ups and token recoveries counted per client address and hour

Each mails a link to an address anyone may type in; a few an hour per client keeps one
machine from making the service mail thousands of strangers.

Revision ID: 0090
Revises: 0080
Create Date: 2026-11-27 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0090"
down_revision: str | None = "0080"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_requests",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 1", name=op.f("ck_link_requests_counted")),
        sa.PrimaryKeyConstraint("client", "hour", name=op.f("pk_link_requests")),
    )
    op.create_index(op.f("ix_link_requests_hour"), "link_requests", ["hour"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_link_requests_hour"), table_name="link_requests")
    op.drop_table("link_requests")
