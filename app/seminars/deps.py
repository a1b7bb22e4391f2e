"""What the seminars' routes depend on: the seminar of the path, and who may vote."""

from typing import Annotated

from fastapi import Depends

from app.auth.deps import (
    SessionDep,
    require_roles,
)
from app.common.schemas import IdPath
from app.models import Role, Seminar, User
from app.seminars import calendar

# Members and secretariat staff propose topics and support them.
Voter = Annotated[User, Depends(require_roles(Role.member, Role.secretariat))]


def seminar_or_404(seminar_id: IdPath, session: SessionDep) -> Seminar:
    return calendar.get_seminar(session=session, seminar_id=seminar_id)


SeminarDep = Annotated[Seminar, Depends(seminar_or_404)]


def seminar_row_or_404(seminar_id: IdPath, session: SessionDep) -> Seminar:
    """The seminar without the institutions' choices, for answers that show none."""
    return calendar.get_seminar(session=session, seminar_id=seminar_id, choices=False)


SeminarRowDep = Annotated[Seminar, Depends(seminar_row_or_404)]
