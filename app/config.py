"""Settings, read once from ``KEP_*`` environment variables and an optional ``.env`` file."""

import re
from datetime import timedelta
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AnyHttpUrl, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.common.schemas import single_line

# The databases the service runs on, each with the one driver it ships with.
DATABASE_URL_FORMS = "sqlite:///path/to/kep.db or postgresql+psycopg://user:password@host/db"
DATABASE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql+psycopg"})
# How KEP_SMTP_URL's starttls option may be written, in any case.
STARTTLS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


class Settings(BaseSettings):
    # A refused value is left out of the error: URLs carry passwords, and whatever runs
    # the service may print the error whole.
    model_config = SettingsConfigDict(
        env_prefix="KEP_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default="sqlite:///./kep.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host/db",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=32,
        description="database connections per process; below the 40 worker threads",
    )
    db_connect_timeout: int = Field(
        default=5, ge=2, le=120, description="seconds to wait for a new database connection"
    )
    db_statement_timeout: float = Field(
        default=30, gt=0, le=3600, description="seconds one SQL statement may run"
    )
    db_lock_timeout: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="seconds to wait for a row lock (PostgreSQL) or the write lock (SQLite)",
    )
    db_slot_timeout: float = Field(
        default=10,
        gt=0,
        le=600,
        description="seconds a request waits for one of the db_pool_size slots before a 503",
    )
    health_timeout: float = Field(
        default=1, gt=0, le=30, description="seconds /health waits for the database"
    )
    plan_start_year: int = Field(default=2026, ge=2000, le=2100)
    plan_end_year: int = Field(default=2029, ge=2000, le=2100)
    support_cap: int = Field(
        default=3, ge=1, le=100, description="supports one voter may give in one seminar"
    )
    public_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="where clients reach the service, with a path prefix if any; every "
        "link (feeds, invitations) is this address followed by a path",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins (https://host[:port]) whose pages may call the API from a "
        "browser, comma-separated; none by default",
    )
    shutdown_timeout: int = Field(
        default=20,
        ge=0,
        le=600,
        description="seconds requests in flight may take to finish when the server stops",
    )
    invitation_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 30,
        description="hours an invitation link works before it expires",
    )

    smtp_url: str | None = Field(
        default=None,
        description="the mail server: smtp://user:password@host:587?starttls=1, or "
        "smtps://host:465; none: messages are written as .eml files to mail_dir",
    )
    mail_dir: Path = Field(
        default=Path("./mail"),
        description="where messages are written as .eml files when no smtp_url is set",
    )
    mail_from: str = Field(
        default="KEP 2.0 <no-reply@kep.example.eu>",
        description="the From address of every message, with a display name if wanted",
    )
    send_mail_in_process: bool = Field(
        default=True,
        description="whether `kep serve` delivers mail itself; 0 when `kep worker` runs apart",
    )
    mail_poll_seconds: float = Field(
        default=5, gt=0, le=3600, description="how often the sender looks for work"
    )
    mail_max_attempts: int = Field(
        default=16,
        ge=1,
        le=100,
        description="attempts before a message is marked failed (16: about a day and a half)",
    )
    mail_retry_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="wait after the first failed attempt; it doubles with each further one",
    )
    smtp_timeout: float = Field(
        default=30, gt=0, le=600, description="seconds to wait for the mail server"
    )
    recovery_minutes: int = Field(
        default=30, ge=5, le=24 * 60, description="minutes a token-recovery link works"
    )
    recovery_per_hour: int = Field(
        default=3, ge=1, le=100, description="token-recovery mails one address may get per hour"
    )
    link_requests_per_hour: int = Field(
        default=30,
        ge=1,
        le=100_000,
        description="sign-ups and token recoveries one client address (an IPv6 /64) may ask "
        "for per hour",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"is not a database URL such as {DATABASE_URL_FORMS}") from None
        if url.drivername == "postgresql":
            meant = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
            raise ValueError(
                "names no driver, which means psycopg2, not installed with the service: "
                f"write {meant} (or sqlite:///path/to/kep.db)"
            )
        if url.drivername not in DATABASE_DRIVERS:
            raise ValueError(
                f"must be {DATABASE_URL_FORMS}; the service does not run on {url.drivername!r}"
            )
        in_memory = (
            url.query.get("mode") == "memory"
            or not url.database
            or url.database == ":memory:"
            or url.database.startswith("file::memory:")
        )
        if url.get_backend_name() == "sqlite" and in_memory:
            raise ValueError(
                "names a SQLite database in memory: each connection would have one of its "
                "own, and the one the migrations fill would not be the one requests read. "
                "Give a file, such as sqlite:///./kep.db"
            )
        return value

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        # Links are made by adding a path to this address: anything after the path would
        # end up in the middle of each of them (https://kep.example.eu/?lang=en/feed.ics).
        for part, mark, given in (("query", "?", value.query), ("fragment", "#", value.fragment)):
            if given is not None:
                raise ValueError(
                    f"has a {part} ({mark}{given}); give the address up to its path, "
                    "such as https://kep.example.eu or https://example.eu/kep"
                )
        if value.username is not None or value.password is not None:
            raise ValueError(
                "has a user name or password before the host; links given to the public "
                "must not carry them: give https://host[:port][/path]"
            )
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "must be smtp://[user:password@]host[:port][?starttls=1] or smtps://host[:port]"
            )
        try:
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError:
            # Left out of the message: what is read as the port may be the password, cut
            # short by a character in it that is not URL-encoded (/, ?, #).
            raise ValueError(
                "has a port that is not a number; a user name or password with /, ?, # "
                "or @ in it must be URL-encoded"
            ) from None
        options = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(options) - {"starttls"}
        if unknown:
            raise ValueError(f"takes only the option starttls, not {', '.join(sorted(unknown))}")
        for given in options.get("starttls", []):
            # read as "no", a value mistyped would send the password unencrypted
            if given.lower() not in STARTTLS:
                raise ValueError(f"has starttls={given!r}; give starttls=1 or starttls=0")
        return value.strip()

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        single_line(value)
        _name, address = parseaddr(value)
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as error:
            raise ValueError(
                f"is not an address such as KEP 2.0 <kep@example.eu>: {error}"
            ) from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for origin in value:
                if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", str(origin)):
                    raise ValueError(
                        f"{origin!r} is not an origin such as https://kep.example.eu "
                        "(a scheme and a host, with a port if any, and nothing after)"
                    )
        return value

    @model_validator(mode="after")
    def _term_in_order(self) -> "Settings":
        if self.plan_end_year < self.plan_start_year:
            raise ValueError(
                f"KEP_PLAN_END_YEAR ({self.plan_end_year}) is before "
                f"KEP_PLAN_START_YEAR ({self.plan_start_year})"
            )
        if self.db_lock_timeout > self.db_statement_timeout:
            raise ValueError(
                f"KEP_DB_LOCK_TIMEOUT ({self.db_lock_timeout}) is longer than "
                f"KEP_DB_STATEMENT_TIMEOUT ({self.db_statement_timeout}), which ends the wait first"
            )
        return self

    @property
    def plan_years(self) -> range:
        return range(self.plan_start_year, self.plan_end_year + 1)

    @property
    def plan_term(self) -> str:
        """The plan's term as the pages and the documentation write it: its first and last
        years, an en dash between them."""
        return f"{self.plan_start_year}–{self.plan_end_year}"

    @property
    def invitation_lifetime(self) -> timedelta:
        return timedelta(hours=self.invitation_hours)

    @property
    def recovery_lifetime(self) -> timedelta:
        return timedelta(minutes=self.recovery_minutes)

    @property
    def base_url(self) -> str:
        return str(self.public_base_url).rstrip("/")

    @property
    def base_path(self) -> str:
        """The path the service is published under: empty at the host's root, or a
        prefix such as ``/kep``, under which its own links go."""
        return urlsplit(self.base_url).path


@lru_cache
def get_settings() -> Settings:
    return Settings()
