"""How seminar messages name instants, seminars and institutions."""

from datetime import datetime

from app.models import (
    Seminar,
)

INSTITUTION_NAMES = {"dg_rtd": "DG RTD", "cor_sedec": "CoR SEDEC", "jrc": "the JRC"}


def iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else "an unknown date"


def label(seminar: Seminar) -> str:
    return f"seminar {seminar.number} of {seminar.year}"
