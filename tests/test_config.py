"""Settings: defaults, KEP_ variables, and impossible settings stopping start-up."""

import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from app.config import Settings


def test_defaults(monkeypatch):
    for name in ("KEP_DATABASE_URL", "KEP_SUPPORT_CAP", "KEP_PLAN_START_YEAR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite:///./kep.db"
    assert list(settings.plan_years) == [2026, 2027, 2028, 2029]
    assert settings.support_cap == 3
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.base_url == "http://127.0.0.1:8000"
    timeouts = (
        settings.db_connect_timeout,
        settings.db_statement_timeout,
        settings.db_lock_timeout,
        settings.db_slot_timeout,
        settings.health_timeout,
    )
    assert timeouts == (5, 30, 10, 10, 1)


def test_by_default_a_mail_server_down_for_a_day_only_delays_mail():
    """README: "A mail server that is down only delays mail." With the default attempts
    and waits, a message is given up only after more than a day of failures."""
    from app.notifications.sender import wait_after

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    waits = [wait_after(attempt, settings) for attempt in range(1, settings.mail_max_attempts)]
    assert sum(waits, timedelta()) > timedelta(days=1)


def test_settings_come_from_kep_variables(monkeypatch):
    monkeypatch.setenv("KEP_SUPPORT_CAP", "5")
    monkeypatch.setenv("KEP_PUBLIC_BASE_URL", "https://kep.example.eu/")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.support_cap == 5
    assert settings.base_url == "https://kep.example.eu"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"KEP_PLAN_START_YEAR": "2030", "KEP_PLAN_END_YEAR": "2029"}, "KEP_PLAN_END_YEAR"),
        ({"KEP_SUPPORT_CAP": "0"}, "support_cap"),
        ({"KEP_DATABASE_URL": "mysql://x"}, "database_url"),
        ({"KEP_PUBLIC_BASE_URL": "not a url"}, "public_base_url"),
        ({"KEP_DB_LOCK_TIMEOUT": "60", "KEP_DB_STATEMENT_TIMEOUT": "30"}, "KEP_DB_LOCK_TIMEOUT"),
        ({"KEP_DB_CONNECT_TIMEOUT": "1"}, "db_connect_timeout"),
        ({"KEP_DB_SLOT_TIMEOUT": "0"}, "db_slot_timeout"),
        # a header's line ends at any of these: the rest would become headers of its own
        ({"KEP_MAIL_FROM": "KEP\x0bTeam <no-reply@kep.example.eu>"}, "mail_from"),
        ({"KEP_MAIL_FROM": "KEP\u2028Team <no-reply@kep.example.eu>"}, "mail_from"),
    ],
)
def test_impossible_settings_are_refused_by_name(monkeypatch, variables, named):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_kep_refuses_to_start_on_an_impossible_setting():
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env={"KEP_SUPPORT_CAP": "-1", "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "KEP_SUPPORT_CAP" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///./kep.db",
        "sqlite:////var/lib/kep/kep.db",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://kep:secret@db.example.eu/kep?sslmode=require",
    ],
)
def test_database_urls_the_service_runs_on_are_accepted(url):
    assert Settings(database_url=url, _env_file=None).database_url == url  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///:memory:", "in memory"),
        ("sqlite://", "in memory"),
        ("sqlite:///file:kep?mode=memory&uri=true", "in memory"),
        ("sqlitex:///x.db", "'sqlitex'"),
        ("sqlite+aiosqlite:///x.db", "'sqlite+aiosqlite'"),
        ("postgresql://kep@db.example.eu/kep", "postgresql+psycopg://"),
        ("postgresql+psycopg2://kep@db.example.eu/kep", "'postgresql+psycopg2'"),
        ("postgresql+asyncpg://kep@db.example.eu/kep", "'postgresql+asyncpg'"),
        ("mysql://kep@db.example.eu/kep", "'mysql'"),
        ("not a url", "not a database URL"),
    ],
)
def test_database_urls_that_cannot_work_are_refused_with_a_reason(url, says):
    with pytest.raises(ValidationError, match="database_url") as refused:
        Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    message = refused.value.errors()[0]["msg"]
    assert says in message
    assert "sqlite:///" in message  # and what to give instead


def test_an_in_memory_database_is_refused_because_each_connection_has_its_own():
    with pytest.raises(ValidationError) as refused:
        Settings(database_url="sqlite:///:memory:", _env_file=None)  # type: ignore[call-arg]
    message = refused.value.errors()[0]["msg"]
    assert "each connection" in message
    assert "sqlite:///./kep.db" in message


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://kep.example.eu", "https://kep.example.eu"),
        ("https://kep.example.eu/", "https://kep.example.eu"),
        ("https://example.eu/kep/", "https://example.eu/kep"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_a_public_base_url_with_a_path_prefix_or_trailing_slash_is_accepted(url, base):
    assert Settings(public_base_url=url, _env_file=None).base_url == base  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://kep.example.eu/?lang=en", "query"),
        ("https://kep.example.eu/?", "query"),
        ("https://kep.example.eu/#top", "fragment"),
        ("https://kep.example.eu/#", "fragment"),
        ("https://kep:secret@kep.example.eu/", "user"),
        ("https://kep@kep.example.eu/", "user"),
    ],
)
def test_a_public_base_url_that_feed_addresses_cannot_extend_is_refused(url, says):
    with pytest.raises(ValidationError, match="public_base_url") as refused:
        Settings(public_base_url=url, _env_file=None)  # type: ignore[call-arg]
    assert says in refused.value.errors()[0]["msg"]


@pytest.mark.parametrize("value", ["on", "2", "", "enabled"])
def test_a_starttls_option_the_mail_server_link_cannot_read_is_refused(value):
    """Read as "no", it would send the mail server's password unencrypted."""
    with pytest.raises(ValidationError, match="smtp_url") as refused:
        Settings(smtp_url=f"smtp://kep:secret@mail.example.eu:587?starttls={value}", _env_file=None)  # type: ignore[call-arg]
    message = refused.value.errors()[0]["msg"]
    assert "starttls" in message and "secret" not in message


@pytest.mark.parametrize(
    ("value", "starttls"),
    [("1", True), ("TRUE", True), ("Yes", True), ("0", False), ("false", False), ("no", False)],
)
def test_a_starttls_option_is_read_in_any_case(value, starttls):
    from app.notifications.mail import transport_for

    url = f"smtp://kep:secret@mail.example.eu:587?starttls={value}"
    transport = transport_for(Settings(smtp_url=url, _env_file=None))  # type: ignore[call-arg]
    assert transport.starttls is starttls


@pytest.mark.parametrize(
    "setting",
    [
        {"smtp_url": "smtp://kep:s3cret-pw@mail.example.eu:587?tls=1"},
        # A password with a character that ends the host part, not URL-encoded: the
        # password is read as the port.
        {"smtp_url": "smtp://kep:s3cret-pw#1@mail.example.eu:587"},
        {"smtp_url": "smtp://kep:s3cret-pw/1@mail.example.eu:587"},
        {"public_base_url": "https://kep:s3cret-pw@kep.example.eu/"},
        {"database_url": "postgresql+psycopg://kep:s3cret-pw@db.example.eu/kep", "db_pool_size": 0},
    ],
)
def test_a_refused_setting_never_writes_a_password_in_its_error(setting):
    """Whatever runs the service (kep, or another ASGI server calling create_app) may
    print a refused setting's error whole, into a log."""
    with pytest.raises(ValidationError) as refused:
        Settings(**setting, _env_file=None)  # type: ignore[arg-type]
    assert "s3cret-pw" not in str(refused.value)
