"""The application's routes: each module's path operations, added to the application
itself, as FastAPI's ``include_router`` would have declared them."""

from datetime import UTC, datetime

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.clock import get_clock
from app.common.params import no_unknown_query_parameters
from app.main import ROUTERS, create_app
from tests.helpers.answers import detail_of
from tests.helpers.events import published_event
from tests.helpers.routes import api_routes


def _included() -> FastAPI:
    """The routers included by FastAPI itself, in the same order."""
    reference = FastAPI(dependencies=[Depends(no_unknown_query_parameters)])
    for router in ROUTERS:
        reference.include_router(router)
    return reference


def _document(routes) -> dict:
    return get_openapi(title="KEP", version="1", routes=routes)


def test_every_operation_is_declared_as_include_router_declares_it(settings):
    app, reference = create_app(settings), _included()
    assert _document(app.routes) == _document(reference.routes)
    # Tried in the same order, after the documentation's own: a path that two routes
    # match (/events/{id}.ics) reaches the same one.
    ours = [(r.path, sorted(r.methods), r.name) for r in api_routes(app)]
    theirs = [(r.path, sorted(r.methods), r.name) for r in api_routes(reference)]
    assert len(theirs) > 70
    assert ours[-len(theirs) :] == theirs
    app.state.engine.dispose()


def test_a_request_finds_its_route_without_walking_included_routers(settings):
    app = create_app(settings)
    included = [route for route in app.routes if hasattr(route, "original_router")]
    assert included == []
    assert sum(isinstance(route, APIRoute) for route in app.routes) > 70
    app.state.engine.dispose()


def test_the_applications_dependency_overrides_reach_every_operation(
    app, client, dg_rtd, participant
):
    event = published_event(client, dg_rtd.headers)
    later = datetime(2028, 1, 1, tzinfo=UTC)
    app.dependency_overrides[get_clock] = lambda: lambda: later
    answer = client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    assert answer.status_code == 409
    assert "registration is closed" in detail_of(answer)
    del app.dependency_overrides[get_clock]
    answer = client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    assert answer.status_code == 201, answer.text
