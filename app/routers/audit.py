"""The audit trail."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from app.deps import SecretariatOrAdmin, SessionDep
from app.errors import responses
from app.models import AuditEntry
from app.schemas.audit import AuditEntryRead
from app.schemas.common import Page

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryRead], responses=responses(401, 403))
def list_audit(
    session: SessionDep,
    _user: SecretariatOrAdmin,
    entity_type: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    """Every state change, newest first: when, who, which entity, what, before and after."""
    query = select(AuditEntry)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return Page[AuditEntryRead](
        items=[AuditEntryRead.model_validate(item) for item in items],
        total=total or 0,
        limit=limit,
        offset=offset,
    )
