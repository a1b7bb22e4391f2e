"""Every bad request gets a JSON answer with a detail a person can act on."""

import json

import pytest

from app.errors import AppError
from tests.helpers.answers import detail_of


def test_unknown_path_is_404_json(client):
    response = client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_malformed_json_is_422_in_fastapis_shape(client, admin):
    response = client.post(
        "/users",
        headers={**admin.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_body_over_the_limit_is_413(client, admin, db):
    huge = json.dumps({"name": "x" * (1024 * 1024), "email": "a@example.eu", "role": "admin"})
    response = client.post("/users", headers=admin.headers, content=huge)
    assert response.status_code == 413
    assert "1048576 bytes" in detail_of(response)


def test_the_body_limit_is_a_setting(settings, session_factory):
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}))
    app.state.sessionmaker = session_factory
    with TestClient(app) as client:
        small = client.post("/signup", json={"name": "Sam", "email": "sam@example.eu"})
        large = client.post("/signup", json={"name": "S" * 3000, "email": "s@example.eu"})
    assert small.status_code == 202
    assert large.status_code == 413
    assert "2048 bytes" in detail_of(large)
    app.state.engine.dispose()


def test_chunked_body_over_the_limit_is_413(client, admin):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = client.post("/signup", content=chunks())
    assert response.status_code == 413


# Changes that any signed-in user may make, so that no role is ever refused; and a change
# that refuses everyone but the account's owner and admins with a 404, so that strangers
# do not learn which accounts exist.
OPEN_TO_EVERY_USER = {
    ("post", "/events/{event_id}/registrations"),
    ("delete", "/events/{event_id}/registrations/me"),
    ("delete", "/users/{user_id}/tokens/{token_id}"),
    ("post", "/me/feeds"),
    ("delete", "/me/feeds/{feed_id}"),
    ("patch", "/me/notifications"),
}


def test_every_endpoint_documents_its_error_answers(client):
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in {"/health"}:
                continue
            codes = set(operation["responses"])
            has_input = operation.get("parameters") or operation.get("requestBody")
            needs_auth = "security" in operation
            if needs_auth:
                assert "401" in codes, f"{method.upper()} {path} lacks 401"
            if has_input:
                assert "422" in codes, f"{method.upper()} {path} lacks 422"
            if "requestBody" in operation:
                assert "413" in codes, f"{method.upper()} {path} lacks 413"
            if "{" in path:
                assert "404" in codes, f"{method.upper()} {path} lacks 404"
            if needs_auth and method != "get" and (method, path) not in OPEN_TO_EVERY_USER:
                assert "403" in codes, f"{method.upper()} {path} lacks 403"
            for code in codes - {"200", "201", "202", "204", "304", "422"}:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)


def test_app_errors_carry_their_status():
    from app.errors import Conflict, Forbidden, Unauthorized

    assert Conflict("x").status_code == 409
    assert Forbidden("x").status_code == 403
    assert Unauthorized("x").headers == {"WWW-Authenticate": "Bearer"}
    assert isinstance(Conflict("x"), AppError)


@pytest.mark.parametrize(
    "path",
    [
        "/events/9223372036854775808",
        "/events/0",
        "/actions/99999999999",
        "/priority-areas/99999999999",
        "/events?action=99999999999",
        "/events?host=99999999999",
        "/events?priority_area=-1",
    ],
)
def test_numbers_beyond_what_the_database_stores_are_422_not_500(client, path):
    response = client.get(path)
    assert response.status_code == 422


def test_out_of_range_numbers_in_a_body_are_422(client, dg_rtd):
    from tests.helpers.events import event_body

    body = event_body(kind="other", actions=[2**40])
    response = client.post("/events", headers=dg_rtd.headers, json=body)
    assert response.status_code == 422
    assert "less than or equal to 2147483647" in response.text


@pytest.mark.parametrize("depth", [600, 950])
def test_a_deeply_nested_body_is_422_not_500(client, depth):
    nested = "[" * depth + "]" * depth
    for body in (nested, f'{{"name": "a", "email": "a@example.eu", "x": {nested}}}'):
        response = client.post(
            "/signup", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), response.text[:200]
