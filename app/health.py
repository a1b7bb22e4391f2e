"""Operations: liveness and database reachability, and the metrics."""

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app import metrics
from app.bodies import JsonRoute
from app.db import database_answers

router = APIRouter(tags=["health"], route_class=JsonRoute)


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(request: Request):
    """`200` when the service and its database answer, `503` when the database does not
    answer within a second (`KEP_HEALTH_TIMEOUT`). It never waits for a request slot, so
    it answers however busy the service is; load balancers may probe it with `HEAD`."""
    if not await database_answers(request.app):
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return Health(status="ok", database="ok")


@router.get("/metrics", include_in_schema=False)
async def read_metrics() -> Response:
    """Prometheus metrics of every worker of this server. Keep this path internal at the
    proxy: it tells how the service is used."""
    body = await anyio.to_thread.run_sync(metrics.exposition)
    return Response(body, media_type=metrics.CONTENT_TYPE)
