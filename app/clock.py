"""The current time, read through one dependency so that tests can move it."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def get_clock() -> Clock:
    """Overridden in tests with a clock they can set; everything else reads this.
    Asynchronous, as it does no I/O: it needs no worker thread of its own."""
    return system_clock
