"""A proposer has one standing proposal of a topic per seminar

Proposals keep their title as they are compared (lower-cased, white space collapsed), and
a unique index over the seminar, the proposer and that key, on proposals not withdrawn,
refuses the same topic twice, even sent twice at once. Where the same topic was proposed
twice before, the first keeps the key and each later one's key is marked with its id, so
that what was stored stays as it is and the index can hold from now on.

Revision ID: 0060
Revises: 0050
Create Date: 2026-11-27 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0060"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_proposals_seminar_id_proposer_id_title_key"
STANDING = sa.text("status != 'withdrawn'")

proposals = sa.table(
    "proposals",
    sa.column("id", sa.Integer()),
    sa.column("seminar_id", sa.Integer()),
    sa.column("proposer_id", sa.Integer()),
    sa.column("title", sa.String()),
    sa.column("status", sa.String()),
    sa.column("title_key", sa.String()),
)


def _key(title: str) -> str:
    # As the service compares titles (app.models.seminars.topic_key) on the day of this
    # migration.
    return " ".join(title.lower().split())


def upgrade() -> None:
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_key", sa.String(length=400), nullable=True))

    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            proposals.c.id,
            proposals.c.seminar_id,
            proposals.c.proposer_id,
            proposals.c.title,
            proposals.c.status,
        ).order_by(proposals.c.id)
    )
    keys = []
    standing: set[tuple[int, int, str]] = set()
    for proposal_id, seminar_id, proposer_id, title, status in rows:
        key = _key(title)
        if status != "withdrawn":
            if (seminar_id, proposer_id, key) in standing:
                key = f"{key} #{proposal_id}"
            standing.add((seminar_id, proposer_id, key))
        keys.append({"key": proposal_id, "title_key": key})
    if keys:
        connection.execute(
            proposals.update()
            .where(proposals.c.id == sa.bindparam("key"))
            .values(title_key=sa.bindparam("title_key")),
            keys,
        )

    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.alter_column("title_key", existing_type=sa.String(length=400), nullable=False)
        batch_op.create_index(
            INDEX,
            ["seminar_id", "proposer_id", "title_key"],
            unique=True,
            postgresql_where=STANDING,
            sqlite_where=STANDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_column("title_key")
