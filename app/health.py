"""Operations: liveness and database reachability, and the metrics."""

import logging

import anyio
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine

from app import metrics
from app.bodies import JsonRoute
from app.config import Settings
from app.db import make_engine
from app.watchdog import Timeouts

log = logging.getLogger(__name__)
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


# -- the probe ------------------------------------------------------------------------------

# Connections the probe engine keeps, beside the requests' pool: two for /health's
# probes, one for the reads of the data's state on SQLite (app.data_state; PostgreSQL's
# are read on an asynchronous connection of their own).
PROBE_CONNECTIONS = 3


def probe_engine(settings: Settings) -> Engine:
    """An engine of its own for ``/health`` and the state of the data, never one of the
    request slots, so that it answers even when every slot is taken or stuck. It keeps
    its few connections: a new PostgreSQL connection (a new server process) per probe
    cost more than the probe itself. A kept connection that fails is dropped and a
    fresh one tried."""
    timeouts = Timeouts(connect=2, statement=settings.health_timeout, lock=settings.health_timeout)
    return make_engine(settings.database_url, pool_size=PROBE_CONNECTIONS, timeouts=timeouts)


def _select_one(engine: Engine, *, retry: bool = True) -> None:
    # The raw connection: no transaction, so on SQLite no write lock is asked for.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
    except Exception:
        connection.invalidate()  # the server may have closed it: never kept again
        if not retry:
            raise
        connection.close()
        _select_one(engine, retry=False)
        return
    connection.close()


class _SharedProbe:
    def __init__(self) -> None:
        self.done = anyio.Event()
        self.answered = False


async def database_answers(app: FastAPI) -> bool:
    """Whether the database answers ``SELECT 1`` within ``KEP_HEALTH_TIMEOUT``.

    Probes asked for while one is under way wait for its answer instead of sending
    their own: under a burst of checks, one ``SELECT 1`` answers them all, and each
    answer still comes from a probe that had not finished when it was asked for."""
    state = app.state
    shared: _SharedProbe | None = getattr(state, "health_probe", None)
    if shared is not None:
        await shared.done.wait()
        return shared.answered
    shared = state.health_probe = _SharedProbe()
    try:
        with anyio.CancelScope(shield=True):  # the others wait for it; it is bounded
            shared.answered = await _probe(app)
    finally:
        state.health_probe = None
        shared.done.set()
    return shared.answered


async def _probe(app: FastAPI) -> bool:
    state = app.state
    limiter = getattr(state, "health_probes", None)
    if limiter is None:
        limiter = state.health_probes = anyio.CapacityLimiter(2)
    with anyio.move_on_after(state.settings.health_timeout):
        try:
            await anyio.to_thread.run_sync(
                _select_one, state.probe_engine, abandon_on_cancel=True, limiter=limiter
            )
        except Exception as error:
            log.warning("health check: the database does not answer: %s", _first_line(error))
            return False
        return True
    log.warning(
        "health check: the database did not answer within %s s", state.settings.health_timeout
    )
    return False


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
