"""`prodsupport report --format html`: the compliance report as one self-contained page, for a meeting.

The same numbers as the Markdown report and the same chart as the weekly post, in one file that opens
offline and can be mailed or projected: the chart is inline (a base64 PNG `data:` URL), the style is in the
page, and nothing is loaded from anywhere else (no script, font or stylesheet from a CDN). Every string a
person typed (titles) is escaped by the one Jinja2 environment's HTML autoescape. The markup is well-formed
XML (XHTML-style void elements), so a strict parser reads it.
"""

from __future__ import annotations

import base64

from prodsupport.core.rendering import environment
from prodsupport.core.timefmt import format_local
from prodsupport.incident.messages import SLA_LABEL, sentence_case
from prodsupport.incident.model import Severity, Sla
from prodsupport.reports import charts, history
from prodsupport.sla import compliance
from prodsupport.sla.compliance import ComplianceReport


def render_html(report: ComplianceReport, trend: tuple[history.WeekPoint, ...]) -> str:
    title = f"Playbook compliance {compliance.period(report)}"
    bars = history.ack_bars(report)
    png = charts.compliance_png(title, bars, trend)
    zone = report.zone
    counts = report.by_severity
    context = {
        "title": title,
        "zone": compliance.zone_name(zone),
        "as_of": format_local(report.as_of, zone),
        "incident_count": len(report.incidents),
        "severities": " · ".join(f"{s.value} {counts[s]}" for s in Severity),
        "chart": base64.b64encode(png).decode("ascii"),
        "clocks": [
            {
                "label": sentence_case(SLA_LABEL[stats.sla]),
                "in_time": compliance.in_time_cell(stats),
                "late": stats.late,
                "missed": stats.missed,
                "open": stats.open,
                "median": compliance.optional_duration(stats.median),
                "worst": compliance.optional_duration(stats.worst),
            }
            for stats in (report.stats(sla) for sla in Sla)
        ],
        "incidents": [
            {
                "id": incident.id,
                "severity": incident.severity.value,
                "title": incident.title,
                "opened": format_local(incident.opened_at, zone),
                "window": incident.window.replace("_", " "),
            }
            for incident in report.incidents
        ],
        "acks": [
            {
                "id": bar.incident_id,
                "minutes": "—" if bar.minutes_to_ack is None else f"{bar.minutes_to_ack:.0f}",
                "window": f"{bar.window_minutes:.0f}",
                "outcome": charts.OUTCOME_LABEL[bar.outcome],
            }
            for bar in bars
        ],
        "trend": [
            {
                "week": f"{point.start:%m/%d/%Y}",
                "cells": ["—" if point.percent.get(sla) is None else f"{point.percent[sla]:g}%" for sla in Sla],
            }
            for point in trend
        ],
        "trend_labels": [sentence_case(SLA_LABEL[sla]) for sla in Sla],
        "breaches": [
            {
                "id": clock.incident.id,
                "severity": clock.incident.severity.value,
                "title": clock.incident.title,
                "clock": SLA_LABEL[clock.sla],
                "due": format_local(clock.deadline.due, zone),
                "done": (
                    f"done {format_local(clock.deadline.met_at, zone)}, "
                    f"{compliance.optional_duration(clock.lateness(report.as_of))} late"
                    if clock.deadline.met_at
                    else "not done"
                ),
            }
            for clock in report.breaches
        ],
    }
    return environment().get_template("compliance_report.html.j2").render(context)
