"""Installing and running the service as an operator does: quietly, from any folder."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from sqlalchemy import create_engine, inspect

from tests.helpers.processes import run_pytest

ROOT = Path(__file__).resolve().parent.parent
# The machine's own pip configuration is no part of the project's install.
QUIET_PIP = {**os.environ, "PIP_CONFIG_FILE": os.devnull}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_installed_kep_migrates_from_any_folder(tmp_path):
    url = f"sqlite:///{tmp_path}/kep.db"
    result = subprocess.run(
        [Path(sys.executable).parent / "kep", "migrate"],
        cwd=tmp_path,
        env={**os.environ, "KEP_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Running upgrade" in result.stderr  # it says what it does
    assert {"events", "seminars", "audit_entries"} <= _tables(url)


def test_the_wheel_ships_the_migrations_and_builds_without_a_warning(tmp_path):
    wheel_dir = tmp_path / "wheel"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(wheel_dir),
            str(ROOT),
        ],
        env=QUIET_PIP,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""
    [wheel] = wheel_dir.glob("kep_events-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    shipped = {name.rsplit("/", 1)[-1] for name in names if name.startswith("app/migrations/")}
    in_tree = {path.name for path in (ROOT / "migrations").rglob("*") if path.is_file()}
    assert in_tree - {name for name in in_tree if name.endswith(".pyc")} <= shipped
    # The web pages' templates and static files ship with the package too.
    web = ROOT / "app" / "web"
    for folder in ("templates", "static"):
        files = {f"app/web/{folder}/{path.name}" for path in (web / folder).iterdir()}
        assert files and files <= names, folder

    # The unpacked package migrates with its own copy, from a folder that has none.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{tmp_path}/shipped.db"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from app.cli import main, migrations_folder; "
            "from app.web.rendering import STATIC, render; "
            "assert b'Page not found' in render('not_found.html', request_path='/x', "
            "plan_term='2026-2029', root=''); "
            "assert (STATIC / 'site.css').is_file(); "
            "print(migrations_folder()); main(['migrate'])",
        ],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site"), "KEP_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(tmp_path / "site" / "app" / "migrations")
    assert {"events", "seminars", "audit_entries"} <= _tables(url)


def test_an_unreachable_postgresql_is_one_line_in_the_summary(tmp_path):
    result = run_pytest(
        "tests/test_health.py",
        env={
            "KEP_REQUIRE_POSTGRES": None,
            "KEP_TEST_POSTGRES_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        },
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("SKIPPED")]
    assert len(skipped) == 1, skipped
    assert skipped[0].startswith("SKIPPED [2] tests/conftest.py: PostgreSQL at ")
    assert "by database: [sqlite] 2 passed; [postgresql] 2 skipped" in lines
    assert any("tests ending [postgresql] on postgresql+psycopg://" in line for line in lines)


def test_make_run_serves_on_the_port_asked_for():
    planned = subprocess.run(
        ["make", "-n", "run", "PORT=8080"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert planned.returncode == 0, planned.stderr
    assert "kep serve --host 127.0.0.1 --port 8080" in planned.stdout
    assert "http://127.0.0.1:8080" in planned.stdout
