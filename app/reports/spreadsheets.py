"""CSV bodies of the reports, for spreadsheet programs, made from the same results as JSON.

UTF-8 with a byte-order mark, so that spreadsheet programs read accents correctly, a
header row, and one row per thing counted. Lists in a cell are separated by "; ".
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from app.common.schemas import local_text, utc_text
from app.events.times import local
from app.models import Affiliation, EventKind, EventStatus, Institution
from app.reports.coverage import Coverage, Figures, Period
from app.reports.history import SeminarHistory, SeminarRecord
from app.reports.stocktaking import ExportedEvent

BOM = "\ufeff"
# A cell that begins with one of these is read as a formula by spreadsheet programs;
# titles are typed by users, so such a cell is kept as text with a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | bool | datetime | Sequence[int | str] | None


def _instant(moment: datetime) -> str:
    """As the JSON answers write them: UTC with a Z, a local time with its offset, both to
    the second."""
    if moment.tzinfo is UTC:
        return utc_text(moment)
    return local_text(moment)


def cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return "; ".join(cell(item) for item in value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return (BOM + out.getvalue()).encode("utf-8")


# -- coverage --------------------------------------------------------------------------

COVERAGE_HEADER = (
    "year",
    "row",
    "number",
    "title",
    "status",
    "priority_areas",
    "held",
    "upcoming",
    "cancelled",
    "joint_seminar",
    "peer_to_peer",
    "other",
    "registered",
    "waitlisted",
    "host_member_states",
    "host_regions",
    "countries",
    "gap",
)


def _figures(figures: Figures) -> list[Cell]:
    return [
        figures.held,
        figures.upcoming,
        figures.cancelled,
        figures.kinds[EventKind.joint_seminar],
        figures.kinds[EventKind.peer_to_peer],
        figures.kinds[EventKind.other],
        figures.registered,
        figures.waitlisted,
        sorted(figures.member_states),
        [f"{state}: {region}" for state, region in sorted(figures.regions)],
        sorted(figures.countries),
        figures.served == 0,
    ]


def _seminar_rows(year: str, period: Period, as_of: datetime) -> list[list[Cell]]:
    """Both seminar slots of a year, opened or not: the target of two, seen slot by slot."""
    opened = {record.seminar.number: record for record in period.seminars}
    rows: list[list[Cell]] = []
    for number in (1, 2):
        record = opened.get(number)
        if record is None:
            rows.append([year, "seminar", number, None, "not opened", None, *_no_event()])
            continue
        topic = record.agreed_topic
        rows.append(
            [
                year,
                "seminar",
                number,
                topic.title if topic else None,
                record.phase,
                None,
                *_seminar_event(record, as_of),
            ]
        )
    return rows


def _no_event() -> list[Cell]:
    return [0, 0, 0, 0, 0, 0, 0, 0, None, None, None, True]


def _seminar_event(record: SeminarRecord, as_of: datetime) -> list[Cell]:
    if record.event is None:
        return _no_event()
    event, occupancy = record.event.event, record.event.occupancy
    serving = event.status == EventStatus.published
    begun = event.starts_at <= as_of
    # Cancelled after it was published, as the coverage counts it (``Event.public``).
    cancelled = event.status == EventStatus.cancelled and event.public
    return [
        int(serving and begun),
        int(serving and not begun),
        int(cancelled),
        int(serving),
        0,
        0,
        occupancy.registered if serving else 0,
        occupancy.waitlisted if serving else 0,
        None,
        None,
        [event.venue_country] if serving and event.venue_country else None,
        not serving,
    ]


def _period_rows(year: str, period: Period) -> list[list[Cell]]:
    rows: list[list[Cell]] = [
        [
            year,
            "action",
            line.action.number,
            line.action.title,
            line.action.status,
            line.action.priority_area_numbers,
            *_figures(line.figures),
        ]
        for line in period.actions
    ]
    rows += [
        [
            year,
            "priority_area",
            line.area.number,
            line.area.title,
            None,
            None,
            *_figures(line.figures),
        ]
        for line in period.priority_areas
    ]
    rows.append([year, "all_events", None, "All events", None, None, *_figures(period.all_events)])
    served = period.seminars_held_or_upcoming
    # The target's row: the seminars held or upcoming in the joint_seminar column, and a
    # gap when they fall short of it.
    blank: list[Cell] = [None] * 5
    target: list[Cell] = [
        year,
        "seminar_target",
        period.seminar_target,
        "Joint seminars against the target",
    ]
    rows.append([*target, *blank, served, *blank, None, None, period.seminars_short_by > 0])
    return rows


def coverage_csv(coverage: Coverage) -> bytes:
    rows: list[list[Cell]] = []
    for period in coverage.years:
        year = str(period.years[0])
        rows += _period_rows(year, period)
        rows += _seminar_rows(year, period, coverage.as_of)
    if coverage.total is not None:
        rows += _period_rows(
            f"{coverage.total.years[0]}–{coverage.total.years[-1]}", coverage.total
        )
    return csv_bytes(COVERAGE_HEADER, rows)


# -- the stocktaking export ------------------------------------------------------------

EVENTS_HEADER = (
    "id",
    "title",
    "kind",
    "status",
    "year",
    "starts_at",
    "ends_at",
    "timezone",
    "local_starts_at",
    "local_ends_at",
    "host_id",
    "host_name",
    "host_member_state",
    "host_region",
    "city",
    "country",
    "online",
    "actions",
    "priority_areas",
    "capacity",
    "registered",
    "waitlisted",
    "agenda_confirmed",
    "agenda_confirmed_at",
    "published_at",
    "cancelled_at",
)


def events_csv(exported: list[ExportedEvent]) -> bytes:
    def row(item: ExportedEvent) -> list[Cell]:
        event, host = item.event, item.event.host
        return [
            event.id,
            event.title,
            event.kind,
            event.status,
            event.local_start_year,
            event.starts_at,
            event.ends_at,
            event.timezone,
            local(event.starts_at, event.timezone),
            local(event.ends_at, event.timezone),
            host.id if host else None,
            host.name if host else None,
            host.member_state if host else None,
            host.region if host else None,
            event.venue_city,
            event.venue_country,
            event.online_url is not None,
            item.actions,
            item.priority_areas,
            event.capacity,
            item.occupancy.registered,
            item.occupancy.waitlisted,
            event.agenda_confirmed_at is not None,
            event.agenda_confirmed_at,
            event.published_at,
            event.cancelled_at,
        ]

    return csv_bytes(EVENTS_HEADER, (row(item) for item in exported))


# -- the seminars' history -------------------------------------------------------------

SEMINARS_HEADER = (
    "year",
    "seminar",
    "phase",
    "proposals_open_at",
    "proposals_close_at",
    "voting_close_at",
    "proposal_id",
    "proposal_title",
    "proposal_status",
    "actions",
    "priority_areas",
    "proposed_by",
    "proposer_member_state",
    "supports",
    "supports_cor",
    "supports_dg_rtd",
    "supports_cor_sedec",
    "supports_jrc",
    "dg_rtd_chose_at",
    "cor_sedec_chose_at",
    "agreed_at",
    "event_id",
    "event_status",
    "event_starts_at",
)


def _chose_at(record: SeminarRecord, institution: Institution, proposal_id: int) -> Cell:
    """When the institution chose this proposal, if its standing choice is this one."""
    choice = record.choice(institution)
    if choice is None or choice.proposal_id != proposal_id:
        return None
    return choice.recorded_at


def seminars_csv(histories: list[SeminarHistory]) -> bytes:
    rows: list[list[Cell]] = []
    for history in histories:
        record = history.record
        seminar, listed = record.seminar, record.event
        head: list[Cell] = [
            seminar.year,
            seminar.number,
            record.phase,
            seminar.proposals_open_at,
            seminar.proposals_close_at,
            seminar.voting_close_at,
        ]
        tail: list[Cell] = [
            seminar.agreed_at,
            listed.event.id if listed else None,
            listed.event.status if listed else None,
            listed.event.starts_at if listed else None,
        ]
        if not history.proposals:
            rows.append([*head, *([None] * 14), *tail])
        for line in history.proposals:
            proposal = line.proposal
            rows.append(
                [
                    *head,
                    proposal.id,
                    proposal.title,
                    proposal.status,
                    line.actions,
                    line.priority_areas,
                    proposal.proposer.affiliation,
                    proposal.proposer.member_state,
                    line.supports,
                    *(line.by_affiliation[affiliation] for affiliation in Affiliation),
                    _chose_at(record, Institution.dg_rtd, proposal.id),
                    _chose_at(record, Institution.cor_sedec, proposal.id),
                    *tail,
                ]
            )
    return csv_bytes(SEMINARS_HEADER, rows)
