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
