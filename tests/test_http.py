"""HTTP as clients and load balancers expect it: HEAD, OPTIONS, 405 and the OpenAPI document."""

import re

import pytest

from tests.helpers.events import published_event
from tests.helpers.seminars import open_seminar

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").json()


@pytest.fixture
def paths(spec, client, dg_rtd) -> dict[str, str]:
    """Each documented path, and a URL for it whose ids exist where they can."""
    event = published_event(client, dg_rtd.headers)
    ids = {"event_id": event["id"], "number": 3, "user_id": dg_rtd.id}
    return {
        path: re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
        for path in spec["paths"]
    }


def documented_methods(operations: dict) -> set[str]:
    methods = {method.upper() for method in operations if method in METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return methods | {"OPTIONS"}


def test_head_answers_wherever_get_does(client, spec, paths, dg_rtd):
    checked = 0
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        url = paths[path]
        got = client.get(url, headers=dg_rtd.headers)
        head = client.head(url, headers=dg_rtd.headers)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == got.headers["content-length"], path
        checked += 1
    assert checked > 15


def test_load_balancers_probe_health_with_head(client):
    response = client.head("/health")
    assert response.status_code == 200
    assert response.content == b""


def test_every_read_that_answers_304_documents_it(client, spec, paths, dg_rtd, sedec):
    seminar = open_seminar(client, sedec)["id"]
    answered_304 = set()
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        url = paths[path].replace("/seminars/1", f"/seminars/{seminar}")
        first = client.get(url, headers=dg_rtd.headers)
        etag = first.headers.get("etag")
        if first.status_code != 200 or etag is None:
            continue
        again = client.get(url, headers={**dg_rtd.headers, "If-None-Match": etag})
        if again.status_code == 304:
            answered_304.add(path)
            assert "304" in operations["get"]["responses"], path
    assert {
        "/events",
        "/events/{event_id}",
        "/seminars/{seminar_id}",
        "/seminars/{seminar_id}/tally",
        "/me/registrations",
        "/calendar.ics",
    } <= answered_304


def test_a_405_lists_every_allowed_method(client, spec, paths):
    for path, operations in spec["paths"].items():
        allowed = documented_methods(operations)
        refused = sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed)
        if not refused:
            continue
        response = client.request(refused[0], paths[path])
        assert response.status_code == 405, (path, refused[0])
        assert set(response.headers["allow"].split(", ")) == allowed, path
        assert "allowed" in response.json()["detail"]


def test_options_lists_every_allowed_method(client, spec, paths):
    for path, operations in spec["paths"].items():
        response = client.options(paths[path])
        assert response.status_code == 204, path
        assert set(response.headers["allow"].split(", ")) == documented_methods(operations)
        assert response.content == b""


def test_static_files_allow_what_they_answer(client):
    """The files under /static answer GET (and HEAD); the mount would match any method."""
    assert client.options("/static/site.css").headers["allow"] == "GET, HEAD, OPTIONS"
    for method in ("POST", "DELETE"):
        refused = client.request(method, "/static/site.css")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
        assert refused.json()["detail"].endswith("the allowed methods are GET, HEAD, OPTIONS")


def test_options_on_an_unknown_path_is_404(client):
    assert client.options("/no-such-thing").status_code == 404


def test_public_reads_are_documented_as_needing_no_token(spec):
    def security(path: str, method: str = "get"):
        return spec["paths"][path][method].get("security")

    assert security("/events") == [{}, {"HTTPBearer": []}]
    assert security("/events/{event_id}") == [{}, {"HTTPBearer": []}]
    assert security("/actions") is None  # no token is read at all
    assert security("/me") == [{"HTTPBearer": []}]
    assert security("/events", "post") == [{"HTTPBearer": []}]


def test_every_operation_marked_as_needing_no_token_answers_without_one(client, spec, paths):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in METHODS and {} in operation.get("security", [{}]):
                response = client.request(method.upper(), paths[path])
                assert response.status_code != 401, (method, path)
