"""Reading the times people type: instants with an offset, or wall-clock times in a zone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.common.schemas import EARLIEST_YEAR, LATEST_YEAR
from app.common.zones import zone
from app.errors import Invalid

Loc = tuple[str | int, ...]


def instant(value: datetime, zone: ZoneInfo, field: str, loc: Loc | None = None) -> datetime:
    """``value`` as an aware UTC datetime.

    With an offset it is an instant already. Without one it is a wall-clock time in
    ``zone``: a time the clocks skip (spring forward) does not exist, and a time they
    pass twice (fall back) is ambiguous; both are refused rather than guessed. ``field``
    names the value in messages, ``loc`` where it is in the request (the body's ``field``
    by default).
    """
    loc = loc or ("body", field)
    # The years are those of the time as sent, as people read them: 2000-01-01T00:30 in
    # Brussels is in 2000, though in UTC it is still 1999.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise Invalid(f"{field} must be between {EARLIEST_YEAR} and {LATEST_YEAR}", loc=loc)
    if value.tzinfo is not None:
        result = value.astimezone(UTC)
    else:
        early = value.replace(tzinfo=zone, fold=0).astimezone(UTC)
        late = value.replace(tzinfo=zone, fold=1).astimezone(UTC)
        if early != late:
            local = value.isoformat(timespec="minutes")
            if early.astimezone(zone).replace(tzinfo=None) != value:
                raise Invalid(
                    f"{field} {local} does not exist in {zone.key}: the clocks skip it "
                    "when daylight saving time starts",
                    loc=loc,
                )
            raise Invalid(
                f"{field} {local} happens twice in {zone.key} when daylight saving time "
                "ends; give it with its UTC offset",
                loc=loc,
            )
        result = early
    return result


def local(value: datetime, zone_name: str) -> datetime:
    return value.astimezone(zone(zone_name))


def check_span(starts_at: datetime, ends_at: datetime, *, longest: timedelta) -> None:
    if ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at", loc=("body", "ends_at"))
    if ends_at - starts_at > longest:
        raise Invalid(f"An event may last at most {longest.days} days", loc=("body", "ends_at"))
