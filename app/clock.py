"""The current time, read through one dependency so that tests can move it."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def get_clock() -> Clock:
    """Overridden in tests with a clock they can set; everything else reads this."""
    return system_clock
