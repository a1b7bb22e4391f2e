"""The seminar's row lock: the one place that serialises what happens in a seminar."""

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.models import Seminar


def lock_seminar(session: Session, seminar_id: int, *, shared: bool = False) -> Seminar:
    """The seminar, re-read under a row lock held until the transaction ends.

    Exclusive for changes to the seminar itself (dates, agreement, scheduling); shared
    for activity that depends on its dates (proposals, supports), so such activity and
    a date change never interleave.
    """
    seminar = session.scalars(
        select(Seminar)
        .where(Seminar.id == seminar_id)
        .with_for_update(read=shared)
        .options(selectinload(Seminar.agreements))
        .execution_options(populate_existing=True)
    ).one_or_none()
    if seminar is None:
        raise NotFound(f"No seminar with id {seminar_id}")
    return seminar
