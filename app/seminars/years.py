"""A seminar is held in its year: its event starts in that year in the event's own time
zone, as the reports count it. Kept by scheduling the agreed seminar and by every edit
of its event's times."""

from datetime import datetime

from app.common import zones
from app.errors import Invalid


def check_held_in_year(label: str, year: int, starts_at: datetime, zone_name: str) -> None:
    """``starts_at`` (an instant) falls in ``year`` where the event is held."""
    local = starts_at.astimezone(zones.zone(zone_name)).year
    if local != year:
        raise Invalid(
            f"{label} takes place in {year}; starts_at is in {local} in {zone_name}: "
            f"choose a day of {year}",
            loc=("body", "starts_at"),
        )
