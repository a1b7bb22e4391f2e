"""Logs as JSON lines, each with the request id of the request it belongs to; and paths
made safe to log.

A secret that is part of a URL (a personal feed's token, an invitation link's secret)
must never reach a log line: ``loggable_path`` replaces the segment after ``/feeds/``,
``/invitations/``, ``/notifications/unsubscribe/`` and ``/notifications/choices/``, and
the value of any query parameter named ``token``.
"""

import json
import logging
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

REQUEST_ID: ContextVar[str | None] = ContextVar("kep_request_id", default=None)

# Path segments that follow these hold a secret.
SECRET_AFTER = ("feeds", "invitations", "unsubscribe", "choices")
SECRET_QUERY = ("token",)
REDACTED = "***"

_SECRET_SEGMENT = re.compile(rf"(/(?:{'|'.join(SECRET_AFTER)})/)[^/]+")


def loggable_path(path: str, query_string: bytes | str = b"") -> str:
    """The path and query of a request, with every secret in them replaced."""
    safe = _SECRET_SEGMENT.sub(rf"\g<1>{REDACTED}", path)
    query = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        cleaned = [
            (name, REDACTED if name.lower() in SECRET_QUERY else value) for name, value in pairs
        ]
        safe += "?" + urlencode(cleaned, safe="*/:,")
    return safe


def _with_request_id(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make(*args, **kwargs)
        if not hasattr(made, "request_id"):
            made.request_id = REQUEST_ID.get()
        return made

    record.kep_request_id = True  # type: ignore[attr-defined]
    return record


def tag_records_with_request_ids() -> None:
    """Give every log record, when it is made, the id of the request being served, so
    that it is there however much later the record is written."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "kep_request_id", False):
        logging.setLogRecordFactory(_with_request_id(factory))


# Fields that access log records carry, written as they are.
FIELDS = ("method", "path", "status", "duration_ms", "client_gone")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request id when
    the record was made while serving a request, and the access fields it carries."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for field in FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The logging configuration of ``kep serve``: every line JSON, on standard output;
    uvicorn's own access log is off, the service writes its own."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stdout"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stdout"], "level": level},
    }
