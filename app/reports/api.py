"""The monitoring reports, for the secretariat: coverage, the stocktaking export, seminars."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from app.auth.deps import ClockDep, Secretariat, SessionDep, SettingsDep
from app.bodies import JsonRoute
from app.common.schemas import WallClockOrInstant
from app.errors import responses
from app.reports import charts, presenters, spreadsheets, stocktaking
from app.reports.coverage import check_years, coverage
from app.reports.history import seminar_history
from app.reports.schemas import (
    CoverageRead,
    EventExportRead,
    ReportFormat,
    SeminarsReportRead,
    TableFormat,
)

router = APIRouter(prefix="/reports", tags=["reports"], route_class=JsonRoute)

TABLES = [ReportFormat.json, ReportFormat.csv]
MEDIA_TYPES = {
    ReportFormat.json: "application/json",
    ReportFormat.csv: "text/csv",
    ReportFormat.svg: "image/svg+xml",
}


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _chosen(asked: str | None, accept: str | None, offered: Sequence[ReportFormat]) -> str:
    """The format asked for with `format`, else the one of ``offered`` that the Accept
    header prefers (the first listed among equals); JSON when neither says."""
    if asked is not None:
        return asked
    candidates = []
    for position, part in enumerate((accept or "").split(",")):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        for name in offered:
            if media_type.lower() == MEDIA_TYPES[name]:
                candidates.append((_quality(parameters), -position, name.value))
    best = max(candidates, default=None)
    return best[2] if best is not None and best[0] > 0 else ReportFormat.json.value


def _file(body: bytes, media_type: str, filename: str, disposition: str) -> Response:
    return Response(
        content=body,
        media_type=media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


def _csv(body: bytes, filename: str) -> Response:
    return _file(body, "text/csv; charset=utf-8", filename, "attachment")


def _documented(*others: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer in each format the endpoint offers, and the refusals."""
    content: dict[str, Any] = {}
    for media_type in others:
        content[media_type] = {"schema": {"type": "string"}}
    return {
        200: {"description": "The report, as JSON or in the format asked for", "content": content},
        **responses(401, 403),
    }


Year = Annotated[
    int | None, Query(description="a year of the plan's term; leave it out for the whole term")
]
Accept = Annotated[str | None, Header(include_in_schema=False)]


@router.get(
    "/coverage",
    response_model=CoverageRead,
    responses=_documented("text/csv", "image/svg+xml"),
)
def coverage_report(
    session: SessionDep,
    settings: SettingsDep,
    user: Secretariat,
    clock: ClockDep,
    year: Year = None,
    format: Annotated[
        ReportFormat | None,
        Query(description="json (the default), csv, or svg for a chart; or use Accept"),
    ] = None,
    accept: Accept = None,
):
    """What the plan's events delivered, per action and per priority area, for a year of
    the plan or for the whole term (a part per year, then the total).

    For each action (retired ones included and marked) and each priority area: events
    held, upcoming and cancelled, of which joint seminars and peer-to-peer events;
    registrations and waitlisted people on the events held and upcoming; the hosts'
    member states and regions and the venues' countries. Then the gaps, the actions and
    priority areas that no event held or upcoming served, and the year's joint seminars
    against the target of two: the seminars whose agreed topic is held or upcoming (a
    `joint_seminar` event made outside a seminar is counted with the events, not
    toward the target). An event belongs to the year in which it starts in its
    own time zone; drafts and events not yet published are not counted, nor events
    cancelled before they were ever published.

    `format=csv` (or `Accept: text/csv`) gives a spreadsheet, one row per action, priority
    area and seminar per year; `format=svg` (or `Accept: image/svg+xml`) a chart of the
    events per action and per priority area."""
    years = check_years(year, settings.plan_years)
    now = clock()
    found = coverage(session=session, years=years, whole_term=year is None, now=now)
    chosen = _chosen(format, accept, list(ReportFormat))
    name = f"kep-coverage-{year}" if year else f"kep-coverage-{years[0]}-{years[-1]}"
    if chosen == ReportFormat.csv:
        return _csv(spreadsheets.coverage_csv(found), f"{name}.csv")
    if chosen == ReportFormat.svg:
        return _file(charts.coverage_svg(found), "image/svg+xml", f"{name}.svg", "inline")
    return presenters.coverage_read(found, settings.plan_years)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _export_name(ends_after: datetime | None, starts_before: datetime | None) -> str:
    """kep-events.csv, kep-events-from-2027-01-01.csv, kep-events-from-...-to-2028-01-01.csv"""
    name = "kep-events"
    if ends_after is not None:
        name += f"-from-{ends_after:%Y-%m-%d}"
    if starts_before is not None:
        name += f"-to-{starts_before:%Y-%m-%d}"
    return f"{name}.csv"


@router.get(
    "/events",
    response_model=EventExportRead,
    responses=_documented("text/csv"),
)
def events_export(
    session: SessionDep,
    user: Secretariat,
    from_: Annotated[
        WallClockOrInstant | None,
        Query(alias="from", description="events ending after this instant (UTC if no offset)"),
    ] = None,
    to: Annotated[
        WallClockOrInstant | None,
        Query(description="events starting before this instant (UTC if no offset)"),
    ] = None,
    format: Annotated[
        TableFormat | None, Query(description="json (the default) or csv; or use Accept")
    ] = None,
    accept: Accept = None,
):
    """The stocktaking export: every event that overlaps the interval, whatever its
    status, by start: kind, status, times in UTC and in the event's zone, the host with
    their member state and region, the venue's country, actions, priority areas,
    registrations, waitlist, and whether the agenda was confirmed. No e-mail addresses,
    no participants' names."""
    ends_after, starts_before = _as_utc(from_), _as_utc(to)
    exported = stocktaking.export_events(
        session=session, starts_before=starts_before, ends_after=ends_after
    )
    if _chosen(format, accept, TABLES) == ReportFormat.csv:
        return _csv(
            spreadsheets.events_csv(exported),
            _export_name(ends_after, starts_before),
        )
    return presenters.event_export_read(exported, ends_after, starts_before)


@router.get(
    "/seminars",
    response_model=SeminarsReportRead,
    responses=_documented("text/csv"),
)
def seminars_report(
    session: SessionDep,
    settings: SettingsDep,
    user: Secretariat,
    clock: ClockDep,
    year: Year = None,
    format: Annotated[
        TableFormat | None, Query(description="json (the default) or csv; or use Accept")
    ] = None,
    accept: Accept = None,
):
    """The seminars' history, for a year of the plan or the whole term: each seminar's
    dates and phase, its proposals with their supports split by institution (`cor` for
    CoR members), DG RTD's and CoR SEDEC's choices and when each was made, the agreed
    topic and its event. Proposers are given by institution and member state, not by
    name."""
    years = check_years(year, settings.plan_years)
    now = clock()
    histories = seminar_history(session=session, years=years, now=now)
    chosen = _chosen(format, accept, TABLES)
    if chosen == ReportFormat.csv:
        name = f"kep-seminars-{year}" if year else f"kep-seminars-{years[0]}-{years[-1]}"
        return _csv(spreadsheets.seminars_csv(histories), f"{name}.csv")
    return presenters.seminars_report_read(histories, now)
