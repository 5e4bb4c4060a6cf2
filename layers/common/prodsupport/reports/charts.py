"""The compliance chart as a PNG: per incident, time to acknowledge against its window; the last weeks'
on-time % per clock.

The only module that imports matplotlib (an import-linter contract says so): it lives in the charts layer,
which only the reports function carries. It uses the object API (`Figure`) and never pyplot, so no GUI
backend or global figure state is involved, and it draws with the Agg renderer at a fixed size and dpi,
without the PNG's `Software` text, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import math

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from prodsupport.incident.messages import SLA_LABEL
from prodsupport.incident.model import Sla
from prodsupport.reports.history import AckBar, WeekPoint
from prodsupport.sla.compliance import Outcome

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 4.5, 100
"""1000 x 450 pixels: readable in a Slack preview and on a projected slide, a few tens of kB."""
MAX_BARS = 25
"""A week with more incidents than this shows the latest ones; the text and the HTML table have them all."""
OUTCOME_COLOR = {
    Outcome.IN_TIME: "#2e8540",
    Outcome.LATE: "#fdb81e",
    Outcome.MISSED: "#e31c3d",
    Outcome.OPEN: "#a9aeb1",
}
OUTCOME_LABEL = {Outcome.IN_TIME: "in time", Outcome.LATE: "late", Outcome.MISSED: "missed", Outcome.OPEN: "open"}


def compliance_png(title: str, bars: list[AckBar], history: tuple[WeekPoint, ...]) -> bytes:
    """The two panels side by side, as PNG bytes."""
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    figure.suptitle(title, fontsize=12)
    left, right = figure.subplots(1, 2, width_ratios=(1, 1.2))
    _ack_panel(left, bars[-MAX_BARS:])
    _trend_panel(right, history)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _ack_panel(axes: Axes, bars: list[AckBar]) -> None:
    """A clock not met is drawn to the end of its window, in the colour of its outcome."""
    axes.set_title("Slack acknowledgement: minutes to ack vs window", fontsize=10)
    if not bars:
        axes.text(0.5, 0.5, "No incidents this week", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    rows = list(range(len(bars)))
    labels = [bar.incident_id for bar in bars]
    taken = [bar.minutes_to_ack if bar.minutes_to_ack is not None else bar.window_minutes for bar in bars]
    colors = [OUTCOME_COLOR[bar.outcome] for bar in bars]
    axes.barh(rows, taken, color=colors, height=0.6)
    axes.scatter([bar.window_minutes for bar in bars], rows, marker="|", s=400, color="#1b1b1b")
    axes.set_yticks(rows, labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("minutes after the incident opened")
    handles: list[Artist] = [
        Patch(color=OUTCOME_COLOR[outcome], label=OUTCOME_LABEL[outcome])
        for outcome in Outcome
        if any(bar.outcome is outcome for bar in bars)
    ]
    handles.append(Line2D([], [], color="#1b1b1b", marker="|", linestyle="none", markersize=12, label="window"))
    axes.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.9)


def _trend_panel(axes: Axes, history: tuple[WeekPoint, ...]) -> None:
    """A week in which a clock never fell due is a gap in its line, not a zero."""
    axes.set_title(f"On time per clock, last {len(history)} weeks (%)", fontsize=10)
    weeks = [f"{point.start:%m/%d}" for point in history]
    drawn = 0
    for sla in Sla:
        values = [point.percent.get(sla) for point in history]
        if all(value is None for value in values):
            continue
        axes.plot(
            weeks,
            [math.nan if value is None else value for value in values],
            marker="o",
            markersize=3,
            label=SLA_LABEL[sla],
        )
        drawn += 1
    axes.set_ylim(-5, 105)
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    if drawn:
        axes.legend(fontsize=7, loc="lower left")
    else:
        axes.text(0.5, 0.5, "No clock fell due", ha="center", va="center", transform=axes.transAxes)
