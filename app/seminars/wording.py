"""How seminar messages name instants and institutions."""

from datetime import datetime

from app.common.schemas import utc_text

INSTITUTION_NAMES = {"dg_rtd": "DG RTD", "cor_sedec": "CoR SEDEC", "jrc": "the JRC"}


def iso(moment: datetime | None) -> str:
    """An instant as messages write it: as answers do, in UTC to the second, with a Z."""
    return utc_text(moment) if moment else "an unknown date"
