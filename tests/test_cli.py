"""The kep command: a new operator gets a first admin token."""

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import demo
from app.config import Settings
from app.main import create_app
from app.models import Event, Registration, Seminar

ROOT = Path(__file__).resolve().parent.parent


def kep(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "KEP_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_create_user_prints_a_token_that_works(tmp_path):
    url = f"sqlite:///{tmp_path}/kep.db"
    result = kep(
        "create-user",
        "--role",
        "admin",
        "--name",
        "Ada",
        "--email",
        "ada@example.eu",
        database_url=url,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("kep_")
    app = create_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    with TestClient(app) as client:
        me = client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["role"] == "admin"
        assert client.get("/actions").json()["total"] == 11
    app.state.engine.dispose()


def test_create_user_refuses_a_duplicate_email_with_a_message(tmp_path):
    url = f"sqlite:///{tmp_path}/kep.db"
    args = ("create-user", "--role", "admin", "--name", "Ada", "--email", "ada@example.eu")
    assert kep(*args, database_url=url).returncode == 0
    again = kep(*args, database_url=url)
    assert again.returncode != 0
    assert "already exists" in again.stderr


def test_create_user_refuses_a_secretariat_without_institution(tmp_path):
    result = kep(
        "create-user",
        "--role",
        "secretariat",
        "--name",
        "S",
        "--email",
        "s@example.eu",
        database_url=f"sqlite:///{tmp_path}/kep.db",
    )
    assert result.returncode != 0
    assert "institution" in result.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [("--name", ""), ("--email", "not-an-address"), ("--member-state", "Portugal")],
)
def test_create_user_names_the_option_it_refuses_and_touches_no_database(tmp_path, option, value):
    given = {"--name": "Maria", "--email": "maria@example.eu", "--member-state": "PT"}
    given[option] = value
    args = [part for pair in given.items() for part in pair]
    database = tmp_path / "kep.db"
    result = kep("create-user", "--role", "member", *args, database_url=f"sqlite:///{database}")
    assert result.returncode != 0
    assert result.stderr.startswith(f"Cannot create the account: {option}: "), result.stderr
    assert "Traceback" not in result.stderr
    assert not database.exists()  # refused before the database was made or migrated


def test_demo_fills_an_empty_database_once(tmp_path):
    url = f"sqlite:///{tmp_path}/kep.db"
    result = kep("demo", database_url=url)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if "kep_" in line]
    tokens = {words[0]: words[-1] for words in lines}
    assert set(tokens) == {
        "admin",
        "secretariat-dg_rtd",
        "secretariat-cor_sedec",
        "secretariat-jrc",
        "member-PT",
        "member-IT",
        "member-PL",
        "participant",
    }
    assert "Rosa Research, secretariat of DG RTD" in result.stdout
    assert "Ana Costa, CoR member for Norte (PT)" in result.stdout
    assert f"rm -f {tmp_path}/kep.db {tmp_path}/kep.db-wal" in result.stdout
    app = create_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    with TestClient(app) as client:
        member = {"Authorization": f"Bearer {tokens['member-PT']}"}
        assert client.get("/me", headers=member).json()["role"] == "member"
        sedec = {"Authorization": f"Bearer {tokens['secretariat-cor_sedec']}"}
        assert client.get("/me", headers=sedec).json()["institution"] == "cor_sedec"
        phases = [seminar["phase"] for seminar in client.get("/seminars").json()["items"]]
        assert phases == ["scheduled", "proposals"]
        titles = [event["title"] for event in client.get("/events").json()["items"]]
        assert titles[0] == "Regional innovation valleys: from pilots to scale"
        assert len(titles) == 2  # the other member's event awaits publication
    app.state.engine.dispose()
    again = kep("demo", database_url=url)
    assert again.returncode != 0
    assert "empty" in again.stderr
    assert "To start again" in again.stderr


@pytest.mark.parametrize(
    "today",
    [
        datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        datetime(2026, 12, 28, 10, 0, tzinfo=UTC),  # three weeks on is another year
        datetime(2029, 12, 31, 20, 0, tzinfo=UTC),  # and after the plan's last one
        datetime(2031, 3, 1, 9, 0, tzinfo=UTC),  # after the plan
        datetime(2025, 6, 1, 9, 0, tzinfo=UTC),  # before it
    ],
)
def test_the_demo_holds_its_seminar_in_the_seminars_year_whatever_the_day(db, settings, today):
    demo.fill(session=db, settings=settings, now=today)
    [seminar] = db.scalars(select(Seminar).where(Seminar.event_id.is_not(None))).all()
    event = db.get(Event, seminar.event_id)
    assert event.starts_at.astimezone(ZoneInfo(event.timezone)).year == seminar.year
    assert seminar.year in settings.plan_years
    registered = select(func.count()).where(Registration.event_id == event.id)
    assert db.scalar(registered) == 2  # registration was open when they registered


UNREACHABLE = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"], ["demo"]])
def test_an_unreachable_database_stops_kep_with_one_clear_line(command):
    result = kep(*command, database_url=UNREACHABLE)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "Cannot reach the database postgresql+psycopg://nobody:***@127.0.0.1:1/none"
    )
    assert "Connection refused" in lines[0]
    assert "secret" not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///:memory:",
        "sqlitex:///x.db",
        "postgresql://nobody@127.0.0.1:1/none",
        "postgresql+psycopg2://nobody@127.0.0.1:1/none",
        "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["serve", "--port", "1"],
        ["demo"],
        ["worker", "--once"],
        ["create-user", "--role", "admin", "--name", "Ada", "--email", "ada@example.eu"],
    ],
)
def test_a_database_url_that_cannot_work_stops_kep_with_the_setting_named(tmp_path, url, command):
    result = kep(*command, database_url=url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Impossible setting:\n  KEP_DATABASE_URL: "), result.stderr
    assert "sqlite:///" in result.stderr  # what to give instead
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--port", "70000"], "--port"),
        (["--port", "-1"], "--port"),
        (["--port", "http"], "--port"),
        (["--workers", "0"], "--workers"),
        (["--workers", "-2"], "--workers"),
    ],
)
def test_serve_refuses_a_port_or_a_number_of_workers_it_cannot_use(tmp_path, option, says):
    url = f"sqlite:///{tmp_path}/kep.db"
    result = kep("serve", *option, database_url=url)
    assert result.returncode == 2  # argparse's usage error, before anything starts
    assert says in result.stderr.splitlines()[-1]
    assert option[1] in result.stderr.splitlines()[-1]
    assert not (tmp_path / "kep.db").exists()


def test_serve_accepts_the_ports_and_workers_it_can_use():
    from app.cli import build_parser

    for port in ("0", "1", "8000", "65535"):  # 0: any free port, as uvicorn reports it
        assert build_parser().parse_args(["serve", "--port", port]).port == int(port)
    assert build_parser().parse_args(["serve", "--workers", "1"]).workers == 1
    assert build_parser().parse_args(["serve"]).workers == 1


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"]])
def test_a_database_migrated_by_a_newer_release_stops_kep_with_one_clear_line(tmp_path, command):
    """Going back to the previous release after a newer one migrated the database."""
    url = f"sqlite:///{tmp_path}/kep.db"
    assert kep("migrate", database_url=url).returncode == 0
    with sqlite3.connect(tmp_path / "kep.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    result = kep(*command, database_url=url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if not line.startswith(("INFO", "{"))]
    assert line.startswith(f"Cannot migrate the database {url}: ")
    assert "'9999'" in line and "newer release" in line
