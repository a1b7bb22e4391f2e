"""The coverage chart: events per action and per priority area, as SVG drawn by matplotlib.

Drawn for paper as much as for screens: A4 landscape, black text of at least 9 points,
held and upcoming told apart by shade and hatching as well as by colour (so they stay
apart in grey print), each bar labelled with its figures, and a gap written out.
"""

import io
import textwrap
import threading
from datetime import datetime
from typing import Any

from app.models import ActionStatus
from app.reports.coverage import Coverage, Figures, Period

A4_LANDSCAPE = (11.69, 8.27)  # inches
HELD = {"color": "#1f4e79", "label": "held"}
UPCOMING = {"color": "#9dc3e6", "hatch": "///", "edgecolor": "#1f4e79", "label": "upcoming"}
LABEL_WIDTH = 50  # characters a line; two lines at most

# matplotlib keeps process-wide state (its settings, font caches); one drawing at a time.
_drawing = threading.Lock()
_configured = False


def _matplotlib() -> Any:
    """matplotlib, imported on the first chart only: most processes never draw one."""
    global _configured
    import matplotlib

    if not _configured:
        matplotlib.rcParams.update(
            {
                # Text stays text: searchable, selectable, sharp when printed, and small.
                "svg.fonttype": "none",
                # The same report draws the same file (no random ids, no date).
                "svg.hashsalt": "kep-coverage",
                "font.size": 10,
                "font.family": "DejaVu Sans",
                # Titles are drawn as typed: "$5k to $50k" is not mathematics.
                "text.parse_math": False,
            }
        )
        _configured = True
    from matplotlib.figure import Figure

    return Figure


def _label(prefix: str, title: str, retired: bool = False) -> str:
    """``Action 7 (retired) · Promoting opportunities…`` on two lines at most."""
    head = f"{prefix} (retired)" if retired else prefix
    lines = textwrap.wrap(f"{head} · {title}", LABEL_WIDTH)
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), LABEL_WIDTH, placeholder="…")]
    return "\n".join(lines)


def _bars(axes: Any, title: str, labels: list[str], figures: list[Figures]) -> None:
    positions = list(range(len(labels)))
    held = [f.held for f in figures]
    upcoming = [f.upcoming for f in figures]
    axes.barh(positions, held, height=0.6, **HELD)
    axes.barh(positions, upcoming, height=0.6, left=held, linewidth=0.6, **UPCOMING)
    axes.set_yticks(positions, labels, fontsize=9)
    axes.tick_params(axis="y", length=0)
    axes.invert_yaxis()  # the first action on top, as in the plan
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    axes.spines[["top", "right"]].set_visible(False)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="x", color="#cccccc", linewidth=0.5)
    axes.set_axisbelow(True)
    widest = max((f.served for f in figures), default=0)
    axes.set_xlim(0, max(widest, 1) * 1.4)  # room for the figures written after the bars
    for position, item in zip(positions, figures, strict=True):
        note = (
            f"{item.served}  ({item.held} held, {item.upcoming} upcoming)"
            if item.served
            else "no event"
        )
        axes.annotate(
            note,
            (item.served, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            style="normal" if item.served else "italic",
        )


def _period_name(period: Period) -> str:
    first, last = period.years[0], period.years[-1]
    return str(first) if first == last else f"{first}–{last}"


def coverage_svg(coverage: Coverage) -> bytes:
    """The chart of the year asked for, or of the whole term."""
    period = coverage.total or coverage.years[0]
    name = _period_name(period)
    with _drawing:
        figure_class = _matplotlib()
        figure = figure_class(figsize=A4_LANDSCAPE, layout="constrained")
        top, bottom = figure.subplots(
            2, 1, gridspec_kw={"height_ratios": [len(period.actions) or 1, 4]}
        )
        _bars(
            top,
            "Events per action",
            [
                _label(
                    f"Action {line.action.number}",
                    line.action.title,
                    line.action.status == ActionStatus.retired,
                )
                for line in period.actions
            ],
            [line.figures for line in period.actions],
        )
        _bars(
            bottom,
            "Events per priority area",
            [
                _label(f"Priority area {line.area.number}", line.area.title)
                for line in period.priority_areas
            ],
            [line.figures for line in period.priority_areas],
        )
        top.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
        title = f"KEP 2.0 – Joint Action Plan: events held and upcoming, {name}"
        figure.suptitle(title, fontsize=15, fontweight="bold")
        bottom.set_xlabel(_footnote(coverage.as_of), fontsize=9, loc="left")
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Title": title, "Date": None})
    return out.getvalue()


def _footnote(as_of: datetime) -> str:
    return textwrap.fill(
        f"Number of events, as of {as_of:%Y-%m-%d %H:%M} UTC. An event counts for every "
        "action and priority area it serves, in the year it starts in its own time zone; "
        "cancelled events and events not yet published are not counted.",
        110,
    )
