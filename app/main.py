"""The application factory."""

from fastapi import FastAPI

from app import health
from app.accounts import api as accounts
from app.audit import api as audit
from app.catalogue import api as catalogue
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import install_handlers
from app.events import api as events
from app.middleware import BodySizeLimit, HeadAndOptions
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="KEP 2.0 events service", version="0.1.0", description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    install_handlers(app)
    complete_openapi(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAndOptions, routes=app.router.routes)
    for module in (health, accounts, catalogue, seminars, events, audit):
        app.include_router(module.router)
    return app
