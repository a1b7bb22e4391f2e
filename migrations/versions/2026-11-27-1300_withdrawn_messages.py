"""Outbox messages may be withdrawn: a notice that no longer holds by its next attempt

A reminder the mail server refused at first may, by its next attempt, tell of an event
cancelled or moved since, or of a place given up: it is then withdrawn, not sent.

Revision ID: 0070
Revises: 0060
Create Date: 2026-11-27 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0070"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "status IN ('pending', 'sent', 'failed')"
AFTER = "status IN ('pending', 'sent', 'failed', 'withdrawn')"


def _status(allowed: str) -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_outbox_status"), allowed)


def upgrade() -> None:
    _status(AFTER)


def downgrade() -> None:
    # Withdrawn messages were not sent: before this revision, that is a failure.
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'withdrawn'")
    _status(BEFORE)
