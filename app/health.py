"""Liveness and database reachability."""

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.auth.deps import SessionDep
from app.bodies import JsonRoute

router = APIRouter(tags=["health"], route_class=JsonRoute)
log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(session: SessionDep):
    """`200` when the service and its database answer, `503` when the database does not."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("health check: the database does not answer")
        session.rollback()
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return Health(status="ok", database="ok")
