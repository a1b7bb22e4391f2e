"""Small builders shared by the event tests."""

import contextlib
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.helpers.answers import detail_of


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Regional innovation valleys: lessons from Norte",
        "description": "How regions build innovation ecosystems.",
        "starts_at": "2027-03-10T09:30",
        "ends_at": "2027-03-10T17:00",
        "timezone": "Europe/Brussels",
        "venue": {
            "name": "Jacques Delors building",
            "address": "Rue Belliard 99-101",
            "city": "Brussels",
            "country": "BE",
        },
        "actions": [3],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def create_event(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/events", headers=headers, json=event_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def published_event(
    client: TestClient, secretariat_headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    overrides.setdefault("kind", "other")
    overrides.setdefault("status", "published")
    return create_event(client, secretariat_headers, **overrides)


def refused(response: Any, status: int, phrase: str) -> None:
    """The answer is the refusal expected, and its detail says why."""
    assert response.status_code == status, response.text
    assert phrase in detail_of(response), detail_of(response)


@contextlib.contextmanager
def unchanged(client: TestClient, db: Session, event_id: int, headers: dict[str, str]):
    """The requests made in the block leave the event, its agenda, its registrations and
    the audit trail as they were."""

    def state() -> tuple[Any, ...]:
        return (
            client.get(f"/events/{event_id}", headers=headers).json(),
            client.get(f"/events/{event_id}/agenda", headers=headers).json(),
            client.get(f"/events/{event_id}/registrations", headers=headers).json(),
            db.execute(text("SELECT count(*) FROM audit_entries")).scalar_one(),
        )

    before = state()
    yield
    assert state() == before
