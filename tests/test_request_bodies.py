"""What a client can send: strict JSON, bounded error answers, and large bodies that never
hold up other requests."""

import json
import re
import socket

import httpx
import pytest

from app.bodies import JsonRoute
from app.openapi import api_routes
from tests.helpers.answers import detail_of
from tests.helpers.database import audit_count
from tests.helpers.events import event_body, published_event, refused
from tests.helpers.server import live_server

JSON = {"Content-Type": "application/json"}


def signup(client, text: str):
    return client.post("/signup", content=text, headers=JSON)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999"])
def test_non_finite_numbers_are_a_422_like_any_bad_value(client, db, number):
    count = audit_count(db)
    response = signup(client, f'{{"name": "Nan", "email": "n@example.eu", "x": [1, {number}]}}')
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["detail"]
    assert error["type"] == "json_invalid"
    assert "finite" in error["msg"]
    assert audit_count(db) == count


def test_a_non_finite_number_in_a_change_is_refused_and_changes_nothing(client, dg_rtd):
    event = published_event(client, dg_rtd.headers, capacity=10)
    response = client.patch(
        f"/events/{event['id']}", content='{"capacity": 1e400}', headers={**dg_rtd.headers, **JSON}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert client.get(f"/events/{event['id']}").json()["capacity"] == 10


def test_integers_longer_than_any_accepted_are_refused_while_parsing(client):
    response = signup(client, '{"name": "N", "email": "n@example.eu", "x": ' + "9" * 5000 + "}")
    assert response.status_code == 422
    assert "5000 digits" in response.json()["detail"][0]["msg"]


def test_a_key_given_twice_is_refused(client, db):
    count = audit_count(db)
    response = signup(client, '{"name": "Ann", "email": "a@example.eu", "name": "Bob"}')
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["type"] == "json_invalid"
    assert "'name' appears twice" in error["msg"]
    assert audit_count(db) == count


def test_a_body_that_is_not_utf8_is_a_400_that_says_so(client):
    response = signup(client, b'{"name": "\xff\xfe", "email": "a@example.eu"}')
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


def test_every_operation_with_a_body_documents_the_400(client):
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                answer = operation["responses"].get("400")
                assert answer is not None, f"{method.upper()} {path} lacks 400"
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}


def many_unknown_keys(count: int = 60_000) -> str:
    return json.dumps(
        {"name": "Ann", "email": "ann@example.eu", **{f"k{i:05d}": i for i in range(count)}}
    )


def test_validation_errors_are_capped_with_their_count(client, db):
    body = many_unknown_keys()
    assert len(body) > 900_000
    count = audit_count(db)
    response = signup(client, body)
    assert response.status_code == 422
    assert len(response.content) < 10_000
    errors = response.json()["detail"]
    assert len(errors) == 21
    assert {error["type"] for error in errors[:20]} == {"extra_forbidden"}
    assert errors[20]["type"] == "too_many_errors"
    assert "59980 more" in errors[20]["msg"] and "60000 in all" in errors[20]["msg"]
    assert audit_count(db) == count


def test_small_bodies_are_capped_too(client):
    response = signup(client, many_unknown_keys(300))
    assert len(response.json()["detail"]) == 21
    assert "300 in all" in response.json()["detail"][-1]["msg"]


def test_large_inputs_are_never_echoed(client, dg_rtd):
    huge = "x" * 200_000
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(title=huge, actions=list(range(5000)))
    )
    assert response.status_code == 422
    assert len(response.content) < 5_000
    title = next(e for e in response.json()["detail"] if e["loc"] == ["body", "title"])
    assert set(title) == {"loc", "msg", "type"}  # what is wrong and where; never the input
    assert "xxxx" not in response.text


def test_a_large_valid_body_is_accepted(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    items = [
        {
            "starts_at": "2027-03-10T10:00",
            "ends_at": "2027-03-10T11:00",
            "title": f"Session {n}",
            "description": "d" * 400,
            "speakers": [{"name": f"Speaker {n}.{s}", "affiliation": "a" * 150} for s in range(10)],
        }
        for n in range(100)
    ]
    body = json.dumps({"items": items})
    assert len(body) > 200_000
    response = client.put(
        f"/events/{event['id']}/agenda", content=body, headers={**dg_rtd.headers, **JSON}
    )
    assert response.status_code == 200, response.text[:500]
    assert len(response.json()["items"]) == 100


def _post(port: int, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST /signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body)
    return sock


def _answered(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    finally:
        sock.setblocking(True)


def test_health_answers_while_large_bad_bodies_are_checked(race_app):
    """Eight 1 MiB bodies of 60,000 unknown keys each are sent at once, then /health. The
    bodies are checked off the event loop, one at a time, so /health answers before
    nearly all of them; with the checks on the event loop, /health waited for every one.
    (How fast it answers is measured in benchmarks/bad_bodies.py.)"""
    body = many_unknown_keys().encode()
    with live_server(race_app) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        # The probe's own connection is opened now, so that what is timed below is the
        # event loop's, not a new PostgreSQL backend's start.
        assert httpx.get(f"{base_url}/health", timeout=10).status_code == 200
        heavy = [_post(port, body) for _ in range(8)]
        with socket.create_connection(("127.0.0.1", port)) as health:
            health.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := health.recv(65536):
                answer += chunk
        answered_first = [_answered(sock) for sock in heavy]
        for sock in heavy:
            sock.settimeout(60)
            status = sock.recv(12)
            assert status.endswith(b"422"), status
            sock.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    assert sum(answered_first) <= 2, answered_first


def test_every_route_reads_its_body_strictly(app):
    routes = list(api_routes(app.routes))
    assert len(routes) > 30
    assert [
        path
        for path, route in routes
        if route.include_in_schema and not isinstance(route, JsonRoute)
    ] == []


# -- bodies that are not sent as JSON ---------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("application/x-www-form-urlencoded", "it came as application/x-www-form-urlencoded"),
        ("text/plain; charset=utf-8", "it came as text/plain"),
        ("multipart/form-data; boundary=x", "it came as multipart/form-data"),
        (None, "it came without a Content-Type"),
    ],
)
def test_a_body_not_sent_as_json_is_415_saying_how_to_send_it(
    client, db, dg_rtd, content_type, named
):
    count = audit_count(db)
    headers = dict(dg_rtd.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    # what `curl -d '{...}'` sends
    response = client.post("/events", headers=headers, content=json.dumps(event_body(kind="other")))
    refused(response, 415, "Content-Type: application/json")
    assert named in detail_of(response)
    assert response.headers["content-type"] == "application/json"
    assert audit_count(db) == count


def test_every_operation_with_a_body_refuses_form_data_with_415(client, admin):
    spec = client.get("/openapi.json").json()
    tried = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            concrete = re.sub(r"\{[a-z_]+\}", "1", path)
            response = client.request(
                method,
                concrete,
                content=b'{"name": "x"}',
                headers={**admin.headers, "Content-Type": "application/x-www-form-urlencoded"},
            )
            refused(response, 415, "send the body as JSON with Content-Type: application/json")
            tried += 1
    assert tried > 15


def test_json_media_types_are_read_as_json(client):
    for n, content_type in enumerate(
        ("application/json; charset=utf-8", "application/merge-patch+json")
    ):
        response = client.post(
            "/signup",
            content=json.dumps({"name": "Ann", "email": f"ann{n}@example.eu"}),
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 202, response.text


def test_every_operation_with_a_body_documents_the_415(client):
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                answer = operation["responses"].get("415")
                assert answer is not None, f"{method.upper()} {path} lacks 415"
                assert "Content-Type: application/json" in answer["description"]
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}


# -- text fields, one definition for every resource -----------------------------------


def test_pasted_text_is_read_alike_on_every_resource(client, sedec):
    name = "Ma\u00adria Me\u200cmber"
    signed_up = client.post("/signup", json={"name": name, "email": "maria@example.eu"})
    assert signed_up.status_code == 202, signed_up.text
    communication = {"reference": "Ares(2026)1", "date": "2026-11-03"}
    action = client.patch(
        "/actions/3",
        headers=sedec.headers,
        json={"summary": "First\r\nSecond\rThird", "communication": communication},
    )
    assert action.status_code == 200, action.text
    assert action.json()["summary"] == "First\nSecond\nThird"
    refused_action = client.patch(
        "/actions/3",
        headers=sedec.headers,
        json={"title": "Missions\u2066", "communication": communication},
    )
    refused(refused_action, 422, "U+2066 at position 9")
    assert client.get("/actions/3").json()["summary"] == "First\nSecond\nThird"
