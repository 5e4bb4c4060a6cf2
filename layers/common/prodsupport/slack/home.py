"""The App Home: what the person opening it must look at, as one Block Kit `home` view.

Pure: built from what `home_handlers` read (the incidents, releases and last week's report) for one person at
one instant. Their own open incidents come first (they own it, are on call, declared or acknowledged it), then
every other open incident, each with the card's buttons, which go through the router's authorization like the
card's own; then post-mortems with their next checkpoint, open action items, releases in the next four weeks
and last week's on-time share per clock. Everything people typed is escaped; Slack allows 100 blocks and 3000
characters a section, so each list is capped and says how many it left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prodsupport.core.mrkdwn import URL_RE
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.timefmt import format_local
from prodsupport.incident.card import clock_line
from prodsupport.incident.clocks import clocks
from prodsupport.incident.messages import SEVERITY_EMOJI, SLA_LABEL, card_actions, sentence_case
from prodsupport.incident.model import Incident, PostmortemState, Sla
from prodsupport.infra.blocks import Block, button, section
from prodsupport.postmortem.model import next_due
from prodsupport.release.model import Release, format_day
from prodsupport.sla.compliance import ComplianceReport

MAX_INCIDENTS = 12  # per list, with the card's buttons: two blocks each
MAX_POSTMORTEMS = 10
MAX_LINES = 20
SECTION_CHARS = 2900
NEXT_POSTMORTEM_STEP = {
    PostmortemState.DRAFTED: ("Schedule session", "schedule"),
    PostmortemState.SCHEDULED: ("Session held", "held"),
    PostmortemState.HELD: ("Share document", "share"),
}


@dataclass(frozen=True)
class HomeData:
    user: str
    oncall: str
    now: datetime
    open_incidents: Sequence[Incident]
    recent: Sequence[Incident]  # opened lately, or still open: where post-mortems and action items are
    releases: Sequence[Release]
    last_week: ComplianceReport


def is_theirs(incident: Incident, user: str, oncall: str) -> bool:
    """The person owns it, is on call, declared it or gave its Slack ack."""
    acker = next((entry.actor for entry in incident.timeline if entry.kind == "acknowledged"), "")
    return user == oncall or user in (incident.owner, incident.declared_by, acker)


def _incident_blocks(incident: Incident, now: datetime, zone: ZoneInfo) -> list[Block]:
    shown = "\n".join(clock_line(clock, zone) for clock in clocks(incident, now))
    status = ""
    if incident.current_status and incident.status_at is not None:
        status = f"\n    _Status ({format_local(incident.status_at, zone)}):_ {esc(incident.current_status)}"
    line = (
        f"{SEVERITY_EMOJI[incident.severity]} *{incident.id}* · {incident.severity.value} · {esc(incident.title)}"
        f"{status}\n{shown}"
    )
    return [section(line[:SECTION_CHARS]), card_actions(incident.id)]


def _incidents(title: str, incidents: Sequence[Incident], now: datetime, zone: ZoneInfo, empty: str) -> list[Block]:
    blocks = [section(f"*{title}*")]
    for incident in incidents[:MAX_INCIDENTS]:
        blocks.extend(_incident_blocks(incident, now, zone))
    if not incidents:
        blocks.append(section(f"_{empty}_"))
    elif len(incidents) > MAX_INCIDENTS:
        blocks.append(section(f"_…and {len(incidents) - MAX_INCIDENTS} more: `/incident list` shows them all._"))
    return blocks


def _postmortem_block(incident: Incident, zone: ZoneInfo) -> Block:
    assert incident.postmortem is not None
    state = incident.postmortem.state
    due = next_due(incident)
    step = "scheduling" if state is PostmortemState.DRAFTED else "sharing"
    text = f"*{incident.id}* · {esc(incident.title)} — {state.value}"
    text += f"; {step} due {format_local(due, zone)}" if due else ""
    block = section(text[:SECTION_CHARS])
    if state in NEXT_POSTMORTEM_STEP:
        label, kind = NEXT_POSTMORTEM_STEP[state]
        block["accessory"] = button(label, f"incident_postmortem_{kind}", incident.id)
    return block


def _lines(title: str, lines: list[str], empty: str) -> Block:
    shown = lines[:MAX_LINES] + ([f"_…and {len(lines) - MAX_LINES} more_"] if len(lines) > MAX_LINES else [])
    return section(f"*{title}*\n" + ("\n".join(shown) if shown else f"_{empty}_")[:SECTION_CHARS])


def _action_items(incidents: Sequence[Incident]) -> list[str]:
    lines = []
    for incident in incidents:
        for item in incident.postmortem.action_items if incident.postmortem else []:
            if item.is_open:
                link = f" <{item.issue_url}|#{item.issue_number}>" if URL_RE.match(item.issue_url) else ""
                lines.append(f"• *{incident.id}* {item.key}: {esc(item.description)}{link}")
    return lines


def _release_line(release: Release) -> str:
    return f"• *{format_day(release.date)}* · *{esc(release.application)}* · {release.id} — {esc(release.summary)}"


def _compliance(report: ComplianceReport, zone: ZoneInfo) -> Block:
    """The week's dates always head the section, so a week with nothing decided says so under them."""
    lines = []
    for sla in Sla:
        stats = report.stats(sla)
        if stats.decided:
            lines.append(
                f"• {sentence_case(SLA_LABEL[sla])}: *{stats.percent_in_time:g}%* on time "
                f"({stats.in_time} of {stats.decided})"
            )
    first, last = format_local(report.start, zone), format_local(report.end, zone)
    period = f"_{first} to {last}, {len(report.incidents)} incident(s)_"
    shown = lines or ["_No clock was decided that week._"]
    return section("*Last week's compliance*\n" + "\n".join([period, *shown]))


def _oncall(data: HomeData) -> str:
    if data.user == data.oncall:
        return "You are on call."
    return f"On call: <@{data.oncall}>." if data.oncall else ""


def home_view(data: HomeData, zone: ZoneInfo) -> dict[str, Any]:
    mine = [i for i in data.open_incidents if is_theirs(i, data.user, data.oncall)]
    others = [i for i in data.open_incidents if i not in mine]
    postmortems = [i for i in data.recent if i.postmortem and i.postmortem.state is not PostmortemState.SHARED]
    as_of = f"As of {format_local(data.now, zone)}. {_oncall(data)}".strip()
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Production support"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": as_of}]},
        *_incidents("Your open incidents", mine, data.now, zone, "Nothing open is yours."),
        {"type": "divider"},
        *_incidents("Every other open incident", others, data.now, zone, "No other incident is open."),
        {"type": "divider"},
        section("*Post-mortems*"),
        *(_postmortem_block(i, zone) for i in postmortems[:MAX_POSTMORTEMS]),
    ]
    if not postmortems:
        blocks.append(section("_No post-mortem is in progress._"))
    blocks += [
        _lines("Open action items", _action_items(data.recent), "No open action items."),
        {"type": "divider"},
        _lines(
            "Releases in the next four weeks", [_release_line(r) for r in data.releases], "No release is scheduled."
        ),
        _compliance(data.last_week, zone),
    ]
    return {"type": "home", "blocks": blocks}


def no_team_view() -> dict[str, Any]:
    """The home of someone in no team's channel, when several teams share the deployment: empty, since
    showing the default team's incidents would show them another team's work."""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Production support"}},
            section("You are in no team's incident channel, so there is nothing to show here yet."),
        ],
    }
