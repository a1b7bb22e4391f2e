"""The application factory."""

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from app import __version__, health, home
from app.accounts import api as accounts
from app.audit import api as audit
from app.catalogue import api as catalogue
from app.common.params import no_unknown_query_parameters
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import document_body_limit, document_invalid_input, install_handlers
from app.events import api as events
from app.middleware import BodySizeLimit
from app.reports import api as reports
from app.seminars import api as seminars

DESCRIPTION = """
Joint DG RTD–CoR seminars and peer-to-peer events of the Knowledge Exchange Platform
(KEP 2.0) under the Joint Action Plan for research and innovation, 2026–2029:
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Swagger UI and ReDoc are served from the service's own files: the documentation
    # works on networks that reach no CDN.
    app = FastAPIOffline(
        title="KEP 2.0 events service",
        version=__version__,
        description=DESCRIPTION,
        dependencies=[Depends(no_unknown_query_parameters)],
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    install_handlers(app)
    document_body_limit(app)
    document_invalid_input(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for module in (home, health, accounts, catalogue, seminars, events, reports, audit):
        app.include_router(module.router)
    return app
