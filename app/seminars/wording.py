"""How seminar messages name instants and institutions."""

from datetime import datetime

INSTITUTION_NAMES = {"dg_rtd": "DG RTD", "cor_sedec": "CoR SEDEC", "jrc": "the JRC"}


def iso(moment: datetime | None) -> str:
    """An instant as messages write it: ISO 8601 in UTC, with a Z."""
    return moment.isoformat().replace("+00:00", "Z") if moment else "an unknown date"
