"""What operators rely on: request ids, JSON access logs without secrets, security headers,
CORS only when configured, and Prometheus metrics."""

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from app.logs import JsonFormatter, loggable_path
from app.main import create_app

SECRET = "s3cr3t-Va1ue-that-must-not-leak"
CLIENT_LOGGERS = ("httpx", "httpcore")


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    formatter = JsonFormatter()

    def lines(logger: str | None = None) -> list[dict]:
        """The service's log lines (the test's own HTTP client logs too: not those)."""
        return [
            json.loads(formatter.format(record))
            for record in caplog.records
            if (logger is None and not record.name.startswith(CLIENT_LOGGERS))
            or record.name == logger
        ]

    return lines


def test_every_answer_carries_a_request_id_and_one_access_line(client, logs, member):
    made = client.get("/events", headers=member.headers)
    kept = client.get("/events", headers={"X-Request-ID": "lb-1234.abcd"})
    replaced = client.get("/events", headers={"X-Request-ID": "not an id!" * 10})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "lb-1234.abcd"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    access = logs("kep.access")
    assert [line["request_id"] for line in access] == [
        made.headers["x-request-id"],
        "lb-1234.abcd",
        replaced.headers["x-request-id"],
    ]
    first = access[0]
    assert (first["method"], first["path"], first["status"]) == ("GET", "/events", 200)
    assert isinstance(first["duration_ms"], float)
    assert first["level"] == "info" and first["time"].endswith("Z")


def test_log_lines_made_while_serving_carry_the_request_id(settings, logs):
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app = create_app(settings.model_copy(update={"database_url": unreachable}))
    with TestClient(app) as client:
        response = client.get("/actions")
    app.state.engine.dispose()
    assert response.status_code == 503
    request_id = response.headers["x-request-id"]
    lines = [line for line in logs() if line["logger"].startswith(("app.", "kep."))]
    assert {line["logger"] for line in lines} == {"app.errors", "kep.access"}
    assert [line for line in lines if line.get("request_id") != request_id] == []


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/feeds/{SECRET}.ics", "/feeds/***"),
        (f"/feeds/{SECRET}.ics?token={SECRET}&kind=other", "/feeds/***?token=***&kind=other"),
        (f"/invitations/{SECRET}", "/invitations/***"),
        (f"/notifications/unsubscribe/{SECRET}", "/notifications/unsubscribe/***"),
        (f"/notifications/choices/{SECRET}", "/notifications/choices/***"),
        (f"/events?token={SECRET}", "/events?token=***"),
        (f"/events?Token={SECRET}&x=1", "/events?Token=***&x=1"),
    ],
)
def test_secrets_in_paths_never_reach_a_log_line(client, logs, path, logged):
    client.get(path, headers={"Authorization": f"Bearer kep_{SECRET}"})
    client.post(path, headers={"Authorization": f"Bearer kep_{SECRET}"})
    lines = logs()
    assert SECRET not in json.dumps(lines)
    assert logs("kep.access")[0]["path"] == logged


def test_loggable_path_keeps_what_is_not_secret():
    assert loggable_path("/events/3", b"from=2027-01-01&limit=5") == (
        "/events/3?from=2027-01-01&limit=5"
    )
    assert loggable_path("/feeds", b"") == "/feeds"


def answers(client, admin) -> dict[str, object]:
    return {
        "200": client.get("/actions"),
        "201": client.post("/signup", json={"name": "A", "email": "a@example.eu"}),
        "204 options": client.options("/events"),
        "head": client.head("/events"),
        "401": client.get("/me"),
        "404": client.get("/nowhere"),
        "405": client.put("/actions"),
        "413": client.post("/signup", content=b"x" * (2 * 1024 * 1024)),
        "422": client.get("/events", params={"limit": 0}),
    }


def test_every_answer_carries_the_security_headers(client, admin):
    for name, response in answers(client, admin).items():
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert headers["content-security-policy"].startswith("default-src 'none'"), name
        assert "frame-ancestors 'none'" in headers["content-security-policy"], name
        assert "strict-transport-security" not in headers, name  # plain http
        assert "x-request-id" in headers, name


def test_over_https_browsers_are_told_to_keep_to_https(app):
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/actions")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_a_service_published_over_https_tells_browsers_so_behind_any_proxy(
    settings, session_factory
):
    """Behind a load balancer whose forwarded scheme the server does not trust, requests
    arrive as plain http; the public address says https, and browsers only heed the
    header over https anyway."""
    app = create_app(settings.model_copy(update={"public_base_url": "https://kep.example.eu"}))
    app.state.sessionmaker = session_factory
    with TestClient(app) as client:  # http://testserver
        response = client.get("/actions")
    app.state.engine.dispose()
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_api_documentation_gets_a_policy_that_lets_it_run(client):
    for page in ("/docs", "/redoc"):
        policy = client.get(page).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "https:" not in policy  # everything it loads is the service's own
    assert (
        client.get("/openapi.json")
        .headers["content-security-policy"]
        .startswith("default-src 'none'")
    )


def test_an_unexpected_error_is_a_json_500_with_headers_and_a_logged_traceback(app, logs):
    def fail():
        raise RuntimeError("a bug")

    app.add_api_route("/fail", fail)
    with TestClient(app) as client:
        response = client.get("/fail")
    assert response.status_code == 500
    assert response.json() == {"detail": "Something went wrong on the server; it is logged"}
    assert response.headers["x-content-type-options"] == "nosniff"
    [error] = logs("kep.errors")
    assert "RuntimeError: a bug" in error["error"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert logs("kep.access")[-1]["status"] == 500


PREFLIGHT = {
    "Origin": "https://kep.example.eu",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def test_cors_is_off_unless_configured(client):
    simple = client.get("/actions", headers={"Origin": "https://kep.example.eu"})
    assert "access-control-allow-origin" not in simple.headers
    preflight = client.options("/events", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers


def test_configured_origins_may_call_the_api_from_a_browser(settings, session_factory):
    app = create_app(settings.model_copy(update={"cors_origins": ["https://kep.example.eu"]}))
    app.state.sessionmaker = session_factory
    with TestClient(app) as client:
        allowed = client.options("/events", headers=PREFLIGHT)
        other = client.options("/events", headers={**PREFLIGHT, "Origin": "https://evil.example"})
        simple = client.get("/actions", headers={"Origin": "https://kep.example.eu"})
        # a reviewer's client confirms the agenda it read (If-Match), as the API documents
        confirming = client.options(
            "/events/1/agenda/confirm",
            headers={**PREFLIGHT, "Access-Control-Request-Headers": "authorization, if-match"},
        )
    app.state.engine.dispose()
    assert confirming.status_code == 200, confirming.text
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://kep.example.eu"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == "https://kep.example.eu"
    assert "X-Request-ID" in simple.headers["access-control-expose-headers"]


def test_cors_origins_are_read_from_a_comma_separated_variable(monkeypatch):
    from app.config import Settings

    monkeypatch.setenv("KEP_CORS_ORIGINS", "https://a.example.eu, http://localhost:5173")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.cors_origins == ["https://a.example.eu", "http://localhost:5173"]
    monkeypatch.setenv("KEP_CORS_ORIGINS", "https://a.example.eu/path")
    with pytest.raises(ValueError, match="not an origin"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 if absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found, _, value = line.rpartition(" ")
            inside = found[len(name) :].strip("{}")
            if ",".join(sorted(inside.split(","))) == wanted:
                return float(value)
    return 0.0


def test_metrics_count_requests_by_route_and_status_and_watch_the_database(client, member):
    before = client.get("/metrics").text
    for _ in range(3):
        client.get("/events/999999")
    client.get("/me", headers=member.headers)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = {"method": "GET", "route": "/events/{event_id}", "status": "404"}
    assert (
        sample(text, "kep_http_requests_total", **route)
        - sample(before, "kep_http_requests_total", **route)
        == 3
    )
    assert "/events/999999" not in text  # routes, not raw paths: a bounded set of labels
    latency = {"method": "GET", "route": "/me", "le": "+Inf"}
    assert sample(text, "kep_http_request_duration_seconds_bucket", **latency) >= 1
    assert sample(text, "kep_db_slot_wait_seconds_count") >= 4
    for gauge in ("kep_db_slots_in_use", "kep_db_connections_in_use", "kep_db_slot_timeouts_total"):
        assert gauge in text
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _label_values(text: str, label: str) -> set[str]:
    return set(re.findall(rf'^kep_http_request[^{{]*{{[^}}]*\b{label}="([^"]*)"', text, re.M))


def test_invented_methods_and_paths_add_no_labels_to_the_metrics(client):
    client.get("/health")
    before = client.get("/metrics").text
    for number in range(20):
        assert client.request(f"M{number:04d}", "/health").status_code == 405
        assert client.get(f"/invented/{number}").status_code == 404
        assert client.get(f"/static/invented-{number}.css").status_code == 404  # unmatched too
    client.request("PROPFIND", "/events")
    text = client.get("/metrics").text
    assert _label_values(text, "method") <= {*STANDARD_METHODS, "other"}
    new_routes = _label_values(text, "route") - _label_values(before, "route")
    assert new_routes <= {"/health", "/events", "/metrics", "unmatched"}
    assert "M0000" not in text and "PROPFIND" not in text and "invented" not in text
    other = {"method": "other", "route": "/health", "status": "405"}
    assert (
        sample(text, "kep_http_requests_total", **other)
        - sample(before, "kep_http_requests_total", **other)
        == 20
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        sample(text, "kep_http_requests_total", **unmatched)
        - sample(before, "kep_http_requests_total", **unmatched)
        == 40
    )
    assert (
        sample(text, "kep_http_request_duration_seconds_count", method="other", route="/health")
        - sample(before, "kep_http_request_duration_seconds_count", method="other", route="/health")
        == 20
    )
