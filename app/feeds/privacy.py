"""Keeping personal feed tokens out of the logs.

A personal feed's token is in its path, and a server's access log writes every path it
serves. This filter rewrites such paths before any handler formats the line, so the
token reaches no log file; a proxy in front of the service must do the same.
"""

import logging
import re

_FEED_PATH = re.compile(r"/feeds/[^/?#\s\"]+\.ics")
REDACTED = "/feeds/[token].ics"
# The loggers that name request paths: uvicorn's access log and its error log.
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return _FEED_PATH.sub(REDACTED, text)


class FeedTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def keep_tokens_out_of_logs() -> None:
    """Install the filter once on each logger that names paths."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, FeedTokenFilter) for existing in logger.filters):
            logger.addFilter(FeedTokenFilter())
