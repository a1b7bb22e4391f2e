"""Time zones by name, each read from the tz database once per process.

``ZoneInfo(name)`` keeps only the few zones used last; a programme names about twenty,
so the others were read from disk again on every request that shows local times. The
zones a service uses are few and never change while it runs: all are kept.
"""

from functools import cache
from zoneinfo import ZoneInfo


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
