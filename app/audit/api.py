"""The audit trail."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import presenters
from app.audit import service as audit
from app.audit.schemas import AuditEntryRead
from app.auth.deps import SecretariatOrAdmin, SessionDep
from app.bodies import JsonRoute
from app.common.schemas import MAX_ID, Page
from app.errors import responses

router = APIRouter(tags=["audit"], route_class=JsonRoute)


@router.get("/audit", response_model=Page[AuditEntryRead], responses=responses(401, 403))
def list_audit(
    session: SessionDep,
    user: SecretariatOrAdmin,
    entity_type: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
):
    """Every state change, newest first: when, who, which entity, what, before and after.

    Each reader sees what they may read elsewhere in the service, and `hidden` names
    what was left out: account details are for admins; registrations for the
    secretariat; events not yet public for the secretariat; who supported a proposal
    for nobody (the tally counts supports by institution)."""
    entries, total = audit.list_entries(
        session=session,
        viewer=user,
        entity_type=entity_type,
        entity_id=entity_id,
        limit=limit,
        offset=offset,
    )
    return Page[AuditEntryRead](
        items=[presenters.entry_read(listed) for listed in entries],
        total=total,
        limit=limit,
        offset=offset,
    )
