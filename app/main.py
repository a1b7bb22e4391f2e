"""The application factory."""

import gc
import inspect
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import anyio
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from app import __version__, docs, health, home, metrics
from app.accounts import api as accounts
from app.audit import api as audit
from app.auth import uses as token_uses
from app.auth.deps import callers_cache
from app.catalogue import api as catalogue
from app.clock import system_clock
from app.common.cache import FeedCache
from app.common.http import AnswerCache, FrontCache, KeptFront
from app.common.params import no_unknown_query_parameters
from app.config import Settings, get_settings
from app.data_state import SharedStates
from app.db import (
    count_connections,
    make_engine,
    make_sessionmaker,
)
from app.errors import document_invalid_input, install_handlers
from app.events import api as events
from app.feeds import api as feeds
from app.feeds.privacy import keep_tokens_out_of_logs
from app.logs import tag_records_with_request_ids
from app.middleware import BodySizeLimit, HeadAndOptions, RequestLog, SecurityHeaders
from app.notifications import api as notifications
from app.notifications import reactions  # noqa: F401 - writes the messages of each change
from app.notifications.sender import STOP_WAIT, Sender, start_thread
from app.openapi import complete as complete_openapi
from app.reports import api as reports
from app.seminars import api as seminars
from app.watchdog import Timeouts, interrupt_all, watchdog
from app.web import api as web
from app.web.rendering import STATIC

# {plan_term}: the plan's term, a setting, written in by create_app.
DESCRIPTION = """
Joint DG RTD–CoR seminars and peer-to-peer events of the Knowledge Exchange Platform
(KEP 2.0) under the Joint Action Plan for research and innovation, {plan_term}:
topic proposals, support, joint agreement, events with confirmed agendas, registration,
calendar feeds, and the monitoring that links every event to the plan's actions and
priority areas.

Authenticate with `Authorization: Bearer <token>`.

The same rules hold on every endpoint:

- **Lists** answer `{items, total, limit, offset}`; `limit` is 1 to 200 (50 by default),
  `offset` skips items. A query parameter an endpoint does not take is a 422 naming it.
- **Times**: instants are UTC, written `2027-03-10T08:30:00Z`; local times carry their
  numeric offset, `2027-03-10T09:30:00+01:00`. Input takes ISO 8601 with an offset, or a
  wall-clock time read in the resource's `timezone`.
- **Errors** are JSON with a `detail`: a sentence for 401, 403, 404, 409 and 413, and for
  422 a list of `{loc, msg, type}`, the same for field validation and business rules.
- **Repeating what is done** (publishing a published event, cancelling a cancelled one,
  registering again, an edit that changes nothing, ...) answers 200 with the current
  state and records nothing; 409 is kept for changes the current state forbids.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    sender = _start_sender(app.state.settings)
    _leave_started_objects_out_of_full_collections()
    async with anyio.create_task_group() as group:
        group.start_soon(watchdog, app)
        group.start_soon(token_uses.keep_writing, app)
        yield
        group.cancel_scope.cancel()
    if sender is not None:
        await anyio.to_thread.run_sync(_stop_sender, *sender)
    # The server has stopped taking requests and waited KEP_SHUTDOWN_TIMEOUT for those in
    # flight; the database work of any left is ended now, its transaction rolled back,
    # rather than cut off half-way when the process ends.
    await interrupt_all(app)
    await token_uses.write_last(app)
    app.state.data_states.close()
    app.state.probe_engine.dispose()
    metrics.process_ended()


@cache
def _leave_started_objects_out_of_full_collections() -> None:
    """What the process holds once its first application has started (modules, the
    application, its routes, the models' metadata) is left out of the garbage
    collector's full passes, which otherwise walk all of it: each pass stopped the
    worker for about 90 ms, and made the slowest hundredth of the answers under load.
    The objects are still freed when nothing refers to them; only cycles among them
    stay until the process ends. Once per process: frozen again at every start, the
    garbage of what ran before (as a test suite's) would never be collected."""
    gc.freeze()


def _start_sender(settings: Settings) -> tuple[Sender, threading.Thread, Engine] | None:
    """The mail sender in a thread of this process, unless KEP_SEND_MAIL_IN_PROCESS=0
    (a separate `kep worker`). It has an engine of its own, so that it never takes one of
    the connections the requests' slots count on."""
    if not settings.send_mail_in_process:
        return None
    engine = make_engine(settings.database_url, pool_size=1, timeouts=Timeouts.of(settings))
    sender = Sender(make_sessionmaker(engine), settings)
    return sender, start_thread(sender), engine


def _stop_sender(sender: Sender, thread: threading.Thread, engine: Engine) -> None:
    sender.stop()
    thread.join(timeout=STOP_WAIT)
    engine.dispose()


# The feeds come before the events: /events/{id}.ics would otherwise reach /events/{id},
# which takes an integer. A browser's GET / reaches the programme page first; other
# clients fall through to the JSON front door.
ROUTERS = (
    web.browser_router,
    home.router,
    health.router,
    accounts.router,
    catalogue.router,
    seminars.router,
    feeds.router,
    events.router,
    reports.router,
    audit.router,
    notifications.router,
    web.router,
)

# What a path operation is declared with: every parameter of ``add_api_route``, each
# kept by the route it makes under the same name, and the path and endpoint besides.
ROUTE_SETTINGS = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in ("self", "path", "endpoint", "route_class_override")
)

# What ``include_router`` can add to the routes of the router it includes.
INCLUDE_SETTINGS = ("prefix", "tags", "dependencies", "responses", "callbacks", "deprecated")


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's path operations, and those of the routers it includes, added to the
    application one by one, in order, as ``include_router`` added them before FastAPI
    0.137. Since then it keeps each included router as one entry that every request
    walks through, route by route, and at every level: a registration took 0.9 million
    of its 19 million instructions to find its route. Each operation is declared anew
    on the application, so that the application's dependency overrides reach it, and
    as it was declared. A router included in another with settings of its own (a
    prefix, tags, dependencies...) is refused: they would be lost."""
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = route.include_context  # type: ignore[attr-defined]
            if any(getattr(context, name) for name in INCLUDE_SETTINGS) or not (
                context.include_in_schema
            ):
                raise ValueError(
                    f"{included!r} is included with settings of its own; declare them on "
                    "its routes, or on the router itself"
                )
            add_routes(app, included)
        elif isinstance(route, APIRoute):
            app.router.add_api_route(
                route.path,
                route.endpoint,
                route_class_override=type(route),
                **{name: getattr(route, name) for name in ROUTE_SETTINGS},
            )
        else:
            app.router.routes.append(route)


# Where Swagger UI and ReDoc are (app.docs; app.docs_url is kept empty).
DOCS_PATHS = (docs.SWAGGER_UI, docs.OAUTH2_REDIRECT, docs.REDOC)

# Whole feed bodies kept per process, by ETag (a 10,000-event feed is about 13 MB).
FEED_CACHE_BYTES = 64 * 1024 * 1024
# The reads' answers kept by each process (see app.common.http.kept_json).
ANSWER_CACHE_BYTES = 32 * 1024 * 1024
# The same answers by the very request that asked for them (app.common.http.KeptFront).
FRONT_CACHE_BYTES = 32 * 1024 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    tag_records_with_request_ids()
    # Swagger UI's and ReDoc's files are the service's own (app.docs).
    app = FastAPIOffline(
        docs_url=None,
        redoc_url=None,
        title="KEP 2.0 events service",
        version=__version__,
        description=DESCRIPTION.replace("{plan_term}", settings.plan_term),
        dependencies=[Depends(no_unknown_query_parameters)],
        lifespan=lifespan,
    )
    docs.add_documentation(app)
    app.state.settings = settings
    app.state.clock = system_clock
    app.state.engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size, timeouts=Timeouts.of(settings)
    )
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.probe_engine = health.probe_engine(settings)
    count_connections(app.state.engine)
    install_handlers(app)
    complete_openapi(app)
    document_invalid_input(app)
    # Added innermost first: each one added wraps those before it.
    app.add_middleware(KeptFront)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAndOptions, routes=app.router.routes)
    if settings.cors_origins:  # off unless configured: browsers then refuse other sites
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
            ],
            expose_headers=["X-Request-ID", "Retry-After", "ETag", "Location"],
            max_age=600,
        )
    app.add_middleware(RequestLog)
    app.add_middleware(
        SecurityHeaders,
        docs_paths=DOCS_PATHS,
        published_over_https=settings.base_url.startswith("https://"),
    )
    app.state.feed_cache = FeedCache(max_bytes=FEED_CACHE_BYTES)
    app.state.answers = AnswerCache(max_bytes=ANSWER_CACHE_BYTES)
    app.state.front = FrontCache(max_bytes=FRONT_CACHE_BYTES)
    app.state.callers = callers_cache()
    app.state.token_uses = token_uses.TokenUses()
    app.state.data_states = SharedStates(app.state.probe_engine, settings.db_slot_timeout)
    keep_tokens_out_of_logs()
    for router in ROUTERS:
        add_routes(app, router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
