"""Instants written so that every calendar app reads them back as the same instants.

An instant is written as wall-clock time with its event's ``TZID``, and the feed carries
one ``VTIMEZONE`` per zone so used, with only the transitions its events need. Two
exceptions are written in UTC instead: events kept in UTC itself, and instants whose
wall-clock time happens twice (the hour repeated when daylight saving time ends),
which ical.js (Thunderbird) and vobject read as the second occurrence whatever the
VTIMEZONE says.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from app.common import zones as common_zones

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Zulu"})

# How far apart two samples of a zone's offset may be when looking for its transitions:
# no zone changes its clocks twice within six hours.
_STEP = timedelta(hours=6)
# How far back to look for the transition that put a zone's current offset in force.
_LOOK_BACK_YEARS = 30
# The onset written for a zone that has kept one offset for longer than that.
_SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)


zone = common_zones.zone  # every zone kept, as everywhere in the service


def repeated(instant: datetime, zone_name: str) -> bool:
    """Whether the wall-clock time of ``instant`` in the zone happens twice."""
    local = instant.astimezone(zone(zone_name))
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def in_zone(instant: datetime, zone_name: str) -> bool:
    """Whether the instant is written with its zone's TZID (else it is written in UTC)."""
    return zone_name not in UTC_NAMES and not repeated(instant, zone_name)


def written(instant: datetime, zone_name: str) -> datetime:
    """The instant as a feed writes it: wall-clock time in its zone, or UTC."""
    if in_zone(instant, zone_name):
        return instant.astimezone(zone(zone_name))
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Transition:
    """A moment the zone's clocks change: its UTC instant, the offsets before and
    after, and the abbreviation and kind of time in force after."""

    at: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool


def _state(instant: datetime, tz: ZoneInfo) -> tuple[timedelta | None, str | None, bool]:
    local = instant.astimezone(tz)
    return local.utcoffset(), local.tzname(), (local.dst() or timedelta(0)) > timedelta(0)


@lru_cache(maxsize=2048)
def _transitions_in_year(zone_name: str, year: int) -> tuple[Transition, ...]:
    """Every change of the zone's offset or abbreviation in the UTC year, in order."""
    tz = zone(zone_name)
    found = []
    moment, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    state = _state(moment, tz)
    while moment < end:
        following = min(moment + _STEP, end)
        after = _state(following, tz)
        if after != state:
            low, high = moment, following  # state holds at low, no longer at high
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _state(middle, tz) == state:
                    low = middle
                else:
                    high = middle
            changed = high.replace(microsecond=0)
            offset_to, name, summer = _state(changed, tz)
            offset_from = state[0] or timedelta(0)
            offset_to = offset_to or timedelta(0)
            found.append(
                Transition(
                    at=changed,
                    offset_from=offset_from,
                    offset_to=offset_to,
                    name=name or "",
                    # Clocks going forward start daylight time, as readers expect, even
                    # where the zone database calls winter the exception (Dublin).
                    daylight=offset_to > offset_from if offset_to != offset_from else summer,
                )
            )
        moment, state = following, after
    return tuple(found)


def _in_force(zone_name: str, instant: datetime) -> Transition:
    """The transition that put the zone's time at ``instant`` in force."""
    for year in range(instant.year, instant.year - _LOOK_BACK_YEARS, -1):
        earlier = [t for t in _transitions_in_year(zone_name, year) if t.at <= instant]
        if earlier:
            return earlier[-1]
    offset, name, daylight = _state(instant, zone(zone_name))
    return Transition(
        _SINCE_EVER, offset or timedelta(0), offset or timedelta(0), name or "", daylight
    )


def needed_transitions(zone_name: str, first: datetime, last: datetime) -> tuple[Transition, ...]:
    """The transition in force at ``first`` and every one up to ``last``: all that a
    reader needs to place instants between the two."""
    later = [
        transition
        for year in range(first.year, last.year + 1)
        for transition in _transitions_in_year(zone_name, year)
        if first < transition.at <= last
    ]
    return (_in_force(zone_name, first), *later)


def vtimezone(zone_name: str, transitions: Iterable[Transition]) -> Timezone:
    """The VTIMEZONE of a zone with the given transitions. Each onset is the wall-clock
    time just before the change, in the offset it changes from, as RFC 5545 writes it."""
    component = Timezone()
    component.add("TZID", zone_name)
    for transition in transitions:
        observance = TimezoneDaylight() if transition.daylight else TimezoneStandard()
        onset = (transition.at + transition.offset_from).replace(tzinfo=None)
        observance.add("DTSTART", onset)
        observance.add("TZOFFSETFROM", transition.offset_from)
        observance.add("TZOFFSETTO", transition.offset_to)
        observance.add("TZNAME", transition.name)
        component.add_component(observance)
    return component


@lru_cache(maxsize=1024)
def serialised_vtimezone(zone_name: str, transitions: tuple[Transition, ...]) -> bytes:
    """``vtimezone`` serialised by the library; the same zone and transitions always give
    the same bytes, so they are made once per process."""
    return vtimezone(zone_name, transitions).to_ical()


class ZoneSpans:
    """The first and last instant written with each zone's TZID in one feed."""

    def __init__(self) -> None:
        self._instants: dict[str, list[datetime]] = {}

    def add(self, zone_name: str, *instants: datetime) -> None:
        if zone_name not in UTC_NAMES:
            self._instants.setdefault(zone_name, []).extend(instants)

    def serialised(self) -> list[bytes]:
        """The VTIMEZONEs the instants need, in name order, as the library writes them."""
        return [serialised_vtimezone(name, transitions) for name, transitions in self.needed()]

    def needed(self) -> list[tuple[str, tuple[Transition, ...]]]:
        """Each zone used, in name order, with the transitions its instants need."""
        found = []
        for name, instants in sorted(self._instants.items()):
            span = _span(name, instants)
            if span is not None:
                found.append((name, needed_transitions(name, *span)))
        return found


def _span(zone_name: str, instants: list[datetime]) -> tuple[datetime, datetime] | None:
    """The first and last of the instants written in the zone; only the earliest and the
    latest are looked at, unless they fall in a repeated hour (and are written in UTC)."""
    first, last = min(instants), max(instants)
    if in_zone(first, zone_name) and in_zone(last, zone_name):
        return first, last
    written_in_zone = [instant for instant in instants if in_zone(instant, zone_name)]
    if not written_in_zone:
        return None  # every instant of this zone is written in UTC: no VTIMEZONE
    return min(written_in_zone), max(written_in_zone)
