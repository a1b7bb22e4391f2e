"""Waiting for what another thread or process does in its own time."""

import time
from collections.abc import Callable


def until(condition: Callable[[], object], seconds: float = 10) -> None:
    """Return once ``condition()`` is true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.05)
