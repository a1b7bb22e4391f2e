"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import health, metrics
from app.accounts import api as accounts
from app.audit import api as audit
from app.catalogue import api as catalogue
from app.config import Settings, get_settings
from app.db import (
    Timeouts,
    count_connections,
    interrupt_all,
    make_engine,
    make_sessionmaker,
    probe_engine,
    watchdog,
)
from app.errors import install_handlers
from app.events import api as events
from app.logs import tag_records_with_request_ids
from app.middleware import BodySizeLimit, HeadAndOptions, RequestLog, SecurityHeaders
from app.openapi import complete as complete_openapi
from app.seminars import api as seminars

DESCRIPTION = """
Joint DG RTD–CoR seminars and peer-to-peer events of the Knowledge Exchange Platform
(KEP 2.0) under the Joint Action Plan for research and innovation, 2026–2029:
topic proposals, support, joint agreement, events with confirmed agendas, registration,
calendar feeds, and the monitoring that links every event to the plan's actions and
priority areas.

Authenticate with `Authorization: Bearer <token>`. Every error answer is JSON with a
`detail` that says what is wrong.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with anyio.create_task_group() as group:
        group.start_soon(watchdog, app)
        yield
        group.cancel_scope.cancel()
    # The server has stopped taking requests and waited KEP_SHUTDOWN_TIMEOUT for those in
    # flight; the database work of any left is ended now, its transaction rolled back,
    # rather than cut off half-way when the process ends.
    await interrupt_all(app)
    app.state.probe_engine.dispose()
    metrics.process_ended()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    tag_records_with_request_ids()
    app = FastAPI(
        title="KEP 2.0 events service", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size, timeouts=Timeouts.of(settings)
    )
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.probe_engine = probe_engine(settings)
    count_connections(app.state.engine)
    install_handlers(app)
    complete_openapi(app)
    # Added innermost first: each one added wraps those before it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAndOptions, routes=app.router.routes)
    if settings.cors_origins:  # off unless configured: browsers then refuse other sites
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "ETag", "Location"],
            max_age=600,
        )
    app.add_middleware(RequestLog)
    docs = [
        path for path in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if path
    ]
    app.add_middleware(SecurityHeaders, docs_paths=docs)
    for module in (health, accounts, catalogue, seminars, events, audit):
        app.include_router(module.router)
    return app
