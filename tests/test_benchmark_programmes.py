"""The benchmarks' programmes still fit the service.

The benchmarks write their programmes in bulk, beside the service's own paths, and the
suite does not run them (their figures are read by people, on a quiet machine). So a new
column, constraint or rule would first show as a benchmark that fails half-way through;
here each programme is written into a fresh database of each kind and read back through
the API, as its benchmark reads it.
"""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.main import create_app
from benchmarks import load, one_call, reports, write_floor
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


@pytest.fixture
def postgres_scratch_url(tmp_path_factory: pytest.TempPathFactory):
    with scratch_database("postgresql", tmp_path_factory) as url:
        yield url


@pytest.fixture
def floors(postgres_scratch_url: str, monkeypatch: pytest.MonkeyPatch):
    """The two floors under the registrations, on the database given, as load.py serves
    them (on PostgreSQL only: one of them is a PL/pgSQL function)."""
    cached = (write_floor.engine, write_floor.written_message, one_call.engine, one_call.message)
    monkeypatch.setenv("KEP_DATABASE_URL", postgres_scratch_url)
    yield {"write_floor": write_floor.app, "one_call": one_call.app}
    for made in (write_floor.engine, one_call.engine):
        if made.cache_info().currsize:
            made().dispose()
    for function in cached:
        function.cache_clear()


def test_the_floors_register_as_the_service_does(postgres_scratch_url, floors):
    """Each floor makes a registration with its audit entry and message, and answers a
    second request for the same place with the first registration."""
    programme = load.prepare(postgres_scratch_url)
    app = served(postgres_scratch_url)
    with TestClient(app) as client:  # the floors copy one of the service's invitations
        token, event_id = programme.pairs[0]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post(f"/events/{event_id}/registrations", headers=headers).status_code == 201
    for number, (name, floor) in enumerate(floors.items(), start=1):
        token, event_id = programme.pairs[number]
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(floor) as client:
            path = f"/events/{event_id}/registrations"
            made = client.post(path, headers=headers)
            assert made.status_code == 201, (name, made.text)
            again = client.post(path, headers=headers)
            assert (again.status_code, again.json()["id"]) == (200, made.json()["id"]), name
            unknown = client.post(path, headers={"Authorization": "Bearer nobody"})
            assert unknown.status_code == 401, name
        with app.state.engine.connect() as connection:
            entries = connection.execute(
                text(
                    "SELECT r.status, r.queue_number = (SELECT max(queue_number)"
                    " FROM registrations WHERE event_id = r.event_id),"
                    " count(DISTINCT a.id), count(DISTINCT o.id)"
                    " FROM registrations r"
                    " JOIN audit_entries a ON a.entity_type = 'registration' AND a.entity_id = r.id"
                    " JOIN outbox o ON o.idempotency_key LIKE '%:' || r.id"
                    " WHERE r.id = :id GROUP BY r.id"
                ),
                {"id": made.json()["id"]},
            ).all()
        assert entries == [(made.json()["status"], True, 1, 1)], name
    app.state.engine.dispose()
