"""The current time, read from the application's clock (``app.state.clock``), so that
tests can set it and move it instead of sleeping."""

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import Request

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def get_clock(request: Request) -> Clock:
    """The application's clock. Asynchronous, as it does no I/O: it needs no worker
    thread of its own."""
    return request.app.state.clock
