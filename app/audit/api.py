"""The audit trail."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import presenters
from app.audit import service as audit
from app.audit.schemas import AuditEntryRead
from app.auth.deps import ClockDep, SecretariatOrAdmin, SessionDep
from app.bodies import JsonRoute
from app.common.params import Paging
from app.common.schemas import MAX_ID, Page, presented_page
from app.errors import responses

router = APIRouter(tags=["audit"], route_class=JsonRoute)


@router.get("/audit", response_model=Page[AuditEntryRead], responses=responses(401, 403))
def list_audit(
    session: SessionDep,
    user: SecretariatOrAdmin,
    clock: ClockDep,
    page: Paging,
    entity_type: Annotated[audit.EntityType | None, Query(description="the kind of entity")] = None,
    entity_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    """Every state change, newest first: when, who, which entity, what, before and after.

    Each reader sees what they may read elsewhere in the service, and `hidden` names
    what was left out: account details are for admins; registrations for the
    secretariat; events not yet public for the secretariat; who supported a proposal
    for nobody (the tally counts supports by institution), and the supports themselves
    for the secretariat alone while voting is open, as the tally is."""
    found = audit.list_entries(
        session=session,
        viewer=user,
        entity_type=entity_type,
        entity_id=entity_id,
        page=page,
        now=clock(),
    )
    return presented_page(AuditEntryRead, found, presenters.entry_read, page)
