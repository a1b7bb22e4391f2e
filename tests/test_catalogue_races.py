"""An action retired while an event is being linked to it: the link waits for the
retirement and is refused, on PostgreSQL (row locks) and on SQLite (the write lock)."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.catalogue.schemas import ActionUpdate
from app.catalogue.service import amend_action
from app.models import User
from tests.helpers.database import BACKENDS, migrate, scratch_database
from tests.helpers.events import event_body


@pytest.fixture(params=BACKENDS)
def race_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A database of this test's own: the retirement it lands would stay in the one the
    other race tests share, whose events link the same action."""
    with scratch_database(request.param, tmp_path_factory) as url:
        migrate(url)
        yield url


def test_an_event_linked_while_its_action_is_retired_waits_and_is_refused(
    race_app, race_client, race_account, clock
):
    _, client = race_client
    secretariat = race_account("secretariat", institution="cor_sedec")
    retirement = ActionUpdate.model_validate(
        {"status": "retired", "communication": {"reference": "R-7", "date": "2026-11-20"}}
    )
    with race_app.state.sessionmaker() as session, ThreadPoolExecutor(1) as pool:
        actor = session.get(User, secretariat.id)
        amend_action(session=session, actor=actor, number=7, data=retirement, now=clock())
        linking = pool.submit(
            client.post,
            "/events",
            headers=secretariat.headers,
            json=event_body(kind="other", actions=[7]),
        )
        time.sleep(0.5)  # time to reach the action's row, and wait on it
        session.commit()
        answer = linking.result(timeout=60)
    assert answer.status_code == 422, answer.text
    assert "Action 7 is retired" in answer.text
    listed = client.get("/events", params={"action": 7}, headers=secretariat.headers)
    assert listed.json()["total"] == 0  # drafts included
