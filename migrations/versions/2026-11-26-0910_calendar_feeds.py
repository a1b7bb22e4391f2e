"""Personal calendar feeds, each event's serialised VEVENT kept with its version, and the
clocks of the feeds' scopes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personal_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_personal_feeds_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_personal_feeds_token_hash")),
    )
    with op.batch_alter_table("personal_feeds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_feeds_user_id"), ["user_id"], unique=False)

    op.create_table(
        "feed_entries",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("vevent", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "variant IN ('public', 'waitlisted', 'unpublished')",
            name=op.f("ck_feed_entries_variant"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_feed_entries_event_id_events")
        ),
        sa.PrimaryKeyConstraint("event_id", "variant", name=op.f("pk_feed_entries")),
    )
    op.create_table(
        "feed_clocks",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_feed_clocks")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_status_ends_at", ["status", "ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_status_ends_at")
    op.drop_table("feed_clocks")
    op.drop_table("feed_entries")
    with op.batch_alter_table("personal_feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_feeds_user_id"))
    op.drop_table("personal_feeds")
