"""The application's routes: each module's path operations, added to the application
itself, as FastAPI's ``include_router`` would have declared them; and a synchronous
endpoint answered and committed in one trip to a worker thread."""

from collections.abc import Iterator
from datetime import UTC, datetime

import anyio.to_thread
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import ResponseValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.auth.deps import SessionDep
from app.bodies import JsonRoute
from app.clock import get_clock
from app.common.params import no_unknown_query_parameters
from app.common.schemas import Instant
from app.main import ROUTERS, add_routes, create_app
from app.models import Role, User
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


def test_a_router_included_with_settings_of_its_own_is_refused(settings):
    inner, outer = APIRouter(), APIRouter()

    @inner.get("/secret")
    def secret() -> dict[str, str]:
        return {"secret": "kept"}

    outer.include_router(inner, dependencies=[Depends(no_unknown_query_parameters)])
    app = create_app(settings)
    with pytest.raises(ValueError, match="included with settings of its own"):
        add_routes(app, outer)
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


# One trip to a thread


@pytest.fixture
def trips(monkeypatch) -> list[str]:
    """The name of every function the application hands to a worker thread."""
    handed: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function, *args, **kwargs):
        handed.append(getattr(function, "__name__", repr(function)))
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return handed


def test_a_registration_takes_two_trips_to_a_thread_who_is_calling_then_the_rest(
    client, dg_rtd, participant, trips
):
    event = published_event(client, dg_rtd.headers)
    trips.clear()
    answer = client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    assert answer.status_code == 201, answer.text
    # FastAPI alone makes four: the endpoint, checking its answer, and the commit apart.
    assert len(trips) == 2, trips


class Answer(BaseModel):
    id: int
    at: Instant | None = None


@pytest.fixture
def writer(app, clock) -> Iterator[TestClient]:
    """An endpoint that adds an account, then answers what ``?answer=`` says (with a
    time that cannot be written as an instant, if ``?naive=yes``), or fails to commit
    when ``?commit=fails``."""
    router = APIRouter(route_class=JsonRoute)

    @router.post("/writes", response_model=Answer)
    def writes(session: SessionDep, answer: str = "1", commit: str = "succeeds", naive: str = ""):
        session.add(
            User(name="Ada", email="ada@example.eu", role=Role.participant, created_at=clock())
        )
        session.flush()
        session.info["commit fails"] = commit == "fails"
        return {"id": answer, "at": datetime(2027, 1, 1) if naive else None}

    def refuse(session: Session) -> None:
        if session.info.get("commit fails"):
            raise RuntimeError("the commit failed")

    add_routes(app, router)
    event.listen(Session, "before_commit", refuse)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        event.remove(Session, "before_commit", refuse)


def _accounts_named_ada(db) -> int:
    return db.scalar(select(func.count()).select_from(User).where(User.name == "Ada"))


def test_an_endpoint_in_one_trip_commits_what_it_changed(writer, db):
    answer = writer.post("/writes")
    assert (answer.status_code, answer.json()) == (200, {"id": 1, "at": None})
    assert _accounts_named_ada(db) == 1


def test_an_answer_its_model_refuses_rolls_the_change_back(writer, db, caplog):
    answer = writer.post("/writes", params={"answer": "not a number"})
    assert answer.status_code == 500
    assert _accounts_named_ada(db) == 0
    # The log names the endpoint, as FastAPI's own check of an answer does.
    (logged,) = [
        r for r in caplog.records if r.exc_info and r.exc_info[0] is ResponseValidationError
    ]
    assert "in writes\n    POST /writes" in str(logged.exc_info[1])


def test_an_answer_that_cannot_be_written_rolls_the_change_back(writer, db):
    answer = writer.post("/writes", params={"naive": "yes"})
    assert answer.status_code == 500
    assert _accounts_named_ada(db) == 0


def test_a_commit_that_fails_answers_an_error_and_changes_nothing(writer, db):
    answer = writer.post("/writes", params={"commit": "fails"})
    assert answer.status_code == 500
    assert _accounts_named_ada(db) == 0
