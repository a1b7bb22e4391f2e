"""The front door and the documentation: useful without reaching anything outside."""

import re

from fastapi.testclient import TestClient

from app import __version__
from app.main import create_app


def test_the_front_door_says_what_the_service_is_and_where_to_go(client):
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["name"] == "KEP 2.0 events service"
    assert body["version"] == __version__ != "0.0.0"
    assert {"docs": "/docs", "redoc": "/redoc", "health": "/health"}.items() <= body[
        "links"
    ].items()
    for name, path in body["links"].items():
        assert client.get(path).status_code == 200, name


def test_the_documentation_loads_its_files_from_the_service_itself(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            served = client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 1000, asset
        assert "cdn" not in html.lower()
        assert "fonts.googleapis" not in html


def test_the_front_door_and_the_documentation_give_the_plans_term_of_the_settings(
    settings, session_factory
):
    other_term = settings.model_copy(update={"plan_start_year": 2031, "plan_end_year": 2034})
    app = create_app(other_term)
    app.state.sessionmaker = session_factory
    try:
        with TestClient(app) as client:
            front = client.get("/", headers={"Accept": "application/json"}).json()
            documented = client.get("/openapi.json").json()["info"]["description"]
    finally:
        app.state.engine.dispose()
    for text in (front["description"], documented):
        assert "2031–2034" in text
        assert "2026" not in text and "2029" not in text


def test_behind_a_path_prefix_the_documentation_loads_and_calls_under_it(app, client):
    """A service reached at https://example.eu/kep: the documentation's files, its
    OpenAPI document and the calls its "Try it out" makes all live under /kep."""
    app.state.settings = app.state.settings.model_copy(
        update={"public_base_url": "https://example.eu/kep/"}
    )
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        assert all(asset.startswith("/kep/") for asset in assets), (page, assets)
        assert "/kep/openapi.json" in html, page
    assert "'/kep/docs/oauth2-redirect'" in client.get("/docs").text
    assert client.get("/openapi.json").json()["servers"] == [{"url": "/kep"}]


def test_at_the_hosts_root_the_documentation_names_no_server(client):
    assert "servers" not in client.get("/openapi.json").json()
    assert "'/openapi.json'" in client.get("/docs").text


def test_behind_a_path_prefix_the_front_door_links_under_it(app, client):
    """Clients follow the front door's links from https://example.eu/kep/: a path from
    the host's root would leave the service."""
    app.state.settings = app.state.settings.model_copy(
        update={"public_base_url": "https://example.eu/kep/"}
    )
    links = client.get("/", headers={"Accept": "application/json"}).json()["links"]
    assert {"docs": "/kep/docs", "redoc": "/kep/redoc", "openapi": "/kep/openapi.json"}.items() <= (
        links.items()
    )
    for name, path in links.items():
        assert path.startswith("/kep/"), name
        assert client.get(path.removeprefix("/kep")).status_code == 200, name


def test_a_path_with_a_slash_too_many_or_too_few_is_sent_to_the_public_address(app, client):
    """Built from the request, the redirect named the host's root and the scheme the
    request came in with: behind a proxy and under a path prefix, that leads away."""
    app.state.settings = app.state.settings.model_copy(
        update={"public_base_url": "https://example.eu/kep/"}
    )
    moved = client.get("/actions/?limit=5", follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == "https://example.eu/kep/actions?limit=5"
    posted = client.post("/signup/", json={}, follow_redirects=False)
    assert (posted.status_code, posted.headers["location"]) == (
        307,
        "https://example.eu/kep/signup",
    )
    for unknown in ("/nowhere/", "/nowhere", "/static/nothing.css", "/static/nothing.css/"):
        answer = client.get(unknown, follow_redirects=False)
        assert answer.status_code == 404, unknown
        assert answer.json() == {"detail": "Not Found"}, unknown
