"""The benchmarks' programmes still fit the service.

The benchmarks write their programmes in bulk, beside the service's own paths, and the
suite does not run them (their figures are read by people, on a quiet machine). So a new
column, constraint or rule would first show as a benchmark that fails half-way through;
here each programme is written into a fresh database of each kind and read back through
the API, as its benchmark reads it.
"""

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from benchmarks import load, reports
from tests.helpers.database import migrate, scratch_database


@pytest.fixture
def scratch_url(backend: str, tmp_path_factory: pytest.TempPathFactory):
    with scratch_database(backend, tmp_path_factory) as url:
        yield url


def served(url: str):
    return create_app(Settings(database_url=url, send_mail_in_process=False, _env_file=None))  # type: ignore[call-arg]


def test_the_load_programme_is_read_and_registered_for(scratch_url):
    programme = load.prepare(scratch_url)
    app = served(scratch_url)
    with TestClient(app) as client:
        listed = client.get("/events", params={"limit": 1, "from": "2000-01-01T00:00Z"})
        assert listed.json()["total"] == len(programme.event_ids) == 2000
        for seminar in programme.seminar_ids:
            proposals = client.get(f"/seminars/{seminar}/proposals", params={"limit": 1})
            assert proposals.json()["total"] == 10, proposals.text
        token, event_id = programme.pairs[0]
        made = client.post(
            f"/events/{event_id}/registrations", headers={"Authorization": f"Bearer {token}"}
        )
        assert made.status_code == 201, made.text
    app.state.engine.dispose()


def test_the_reports_programme_is_reported_on(scratch_url):
    migrate(scratch_url)
    app = served(scratch_url)
    app.state.clock = lambda: reports.NOW
    staff, hosts, people, secret = reports.accounts(app)
    reports.fill(app, staff, hosts, people, count=200, start=0, analyze=False)
    reader = {"Authorization": f"Bearer {secret}"}
    with TestClient(app) as client:
        coverage = client.get("/reports/coverage", params={"year": 2027}, headers=reader)
        assert coverage.status_code == 200, coverage.text
        seminars = client.get("/reports/seminars", headers=reader)
        assert seminars.status_code == 200, seminars.text
        assert len(client.get("/seminars").json()["items"]) == 8
    app.state.engine.dispose()
