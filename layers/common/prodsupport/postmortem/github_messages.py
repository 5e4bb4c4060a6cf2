"""What is said about the post-mortem's GitHub side: in the thread, in the channel, and in GitHub itself.

Thread messages are `postmortem_update`s like the other checkpoints' (docs/design.md#message-metadata), with
the pull request or issue in the payload, so a reader of the metadata needs no GitHub of its own.
"""

from __future__ import annotations

import re
from copy import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.rendering import one_line
from prodsupport.core.timefmt import format_local
from prodsupport.github.model import ACTION_TYPES, ActionItem
from prodsupport.incident.model import Incident, Sla
from prodsupport.infra.blocks import actions, button, input_block, plain_text, section, text_input
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.postmortem.github_tracking import OpenItem, OpenPull
from prodsupport.postmortem.messages import update

DAY = timedelta(days=1)

_MARKER_RE = re.compile(r"<!-- prodsupport:([A-Z]{2,6}-\d{4}-\d{4,}):(A\d+) -->")


def markers(body: str) -> list[tuple[str, str]]:
    """The (incident id, item key) pairs an issue body carries; people may edit the rest of the body."""
    return _MARKER_RE.findall(body)


def no_mention(text: str) -> str:
    """Text people typed, kept from @-mentioning a person or a whole team where GitHub would notify them."""
    return one_line(text).replace("@", "@\u200b")


def pull_request_opened(incident: Incident) -> SlackMessage:
    assert incident.postmortem is not None and incident.postmortem.pull_request is not None
    pull = incident.postmortem.pull_request
    text = (
        f":octocat: The post-mortem of *{incident.id}* is a pull request: "
        f"<{esc(pull.url)}|{esc(pull.repo)}#{pull.number}>. "
        f"Edit the report on its branch; merging it shares the post-mortem. "
        f"Action items: `/incident {incident.id} action <description> [type prevent|detect|mitigate|process] "
        f"[team <name>]`."
    )
    blocks = [
        section(text),
        actions("postmortem_github", [button("Add action item", "incident_postmortem_action", incident.id)]),
    ]
    return replace(update(incident, text, pull_request=pull.url), blocks=blocks)


def action_item_modal(incident: Incident) -> dict[str, Any]:
    """The form behind *Add action item*; it submits what `/incident <id> action` takes."""
    types = [{"text": plain_text(kind), "value": kind} for kind in ACTION_TYPES]
    return {
        "type": "modal",
        "callback_id": "postmortem_action",
        "private_metadata": incident.id,
        "title": plain_text("Add action item"),
        "submit": plain_text("File issue"),
        "blocks": [
            input_block("description", "What will change", text_input(placeholder="Add a synthetic probe per clinic")),
            input_block(
                "type", "Type", {"type": "static_select", "action_id": "value", "options": types}, optional=True
            ),
            input_block("team", "Owning team", text_input(placeholder="Check-In Experience"), optional=True),
        ],
    }


def pull_request_failed(incident: Incident) -> SlackMessage:
    text = (
        f":warning: GitHub did not take the post-mortem pull request of *{incident.id}*; the draft above is "
        f"complete. It is opened with the first action item (`/incident {incident.id} action …`)."
    )
    return update(incident, text)


def pull_request_body(incident: Incident, thread_link: str) -> str:
    return (
        f"The post-mortem of {incident.id}, drafted by prodsupport from the incident.\n\n"
        f"- Incident thread: {thread_link}\n"
        "- Fill in every section (or say it has nothing), and file action items from Slack so each links an issue.\n"
        "- Merging this pull request shares the post-mortem in the incident channel.\n"
    )


def issue_body(incident: Incident, item: ActionItem, marker: str) -> str:
    pull = incident.postmortem.pull_request if incident.postmortem else None
    lines = [
        f"Action item {item.key} of the post-mortem of {incident.id}.",
        "",
        f"- Type: {item.type or 'not given'}",
        f"- Owning team: {no_mention(item.team) or 'not given'}",
    ]
    if pull is not None:
        lines.append(f"- Post-mortem: {pull.url}")
    lines += ["", marker]
    return "\n".join(lines)


def action_item_filed(incident: Incident, item: ActionItem, user: str, *, in_report: bool) -> SlackMessage:
    where = "and added to the report's Action Items table" if in_report else "(add it to the report's table by hand)"
    text = (
        f":clipboard: Action item {item.key} of *{incident.id}* by <@{user}>: {esc(item.description)} — "
        f"<{esc(item.issue_url)}|#{item.issue_number}> {where}."
    )
    return update(incident, text, action_item=item.key, issue=item.issue_url)


def action_item_closed(incident: Incident, item: ActionItem, sender: str) -> SlackMessage:
    text = (
        f":white_check_mark: Action item {item.key} of *{incident.id}* is closed in GitHub by {esc(sender)}: "
        f"<{esc(item.issue_url)}|#{item.issue_number}> {esc(item.description)}."
    )
    message = update(incident, text, action_item=item.key, issue=item.issue_url, closed=True)
    return replace(message, effect_id=f"{incident.id}/action_item_closed/{item.key}")


def pull_request_closed(incident: Incident, sender: str) -> SlackMessage:
    assert incident.postmortem is not None and incident.postmortem.pull_request is not None
    pull = incident.postmortem.pull_request
    text = (
        f":no_entry_sign: The post-mortem pull request of *{incident.id}* (<{esc(pull.url)}|#{pull.number}>) was "
        f"closed without merging by {esc(sender)}. The post-mortem is not shared; reopen and merge it, or share "
        f"another document with `/incident {incident.id} postmortem shared <url>`."
    )
    return update(incident, text, pull_request=pull.url, merged=False)


def shared_by_merge(incident: Incident, sender: str, zone: ZoneInfo) -> SlackMessage:
    assert incident.postmortem is not None
    deadline = incident.deadlines[Sla.POSTMORTEM_SHARED]
    verdict = "on time" if deadline.met_in_time() else f"after its due date ({format_local(deadline.due, zone)})"
    text = (
        f":page_facing_up: The post-mortem for *{incident.id}* {esc(incident.title)} is shared: its pull request "
        f"was merged by {esc(sender)}, {verdict}: <{esc(incident.postmortem.url)}>"
    )
    message = update(incident, text, url=incident.postmortem.url, merged=True)
    return replace(message, effect_id=f"{incident.id}/postmortem_shared", broadcast=True)


def action_item_reminder(item: OpenItem, now: datetime) -> SlackMessage:
    days = item.age(now) // DAY
    return SlackMessage(
        channel=item.channel_id,
        thread_ts=item.thread_ts,
        text=(
            f":hourglass: Action item {item.key} of *{item.incident_id}* has been open for {days} days: "
            f"<{esc(item.issue_url)}|#{item.issue_number}> {esc(item.description)}. Close the issue when it is done."
        ),
        event_type="postmortem_update",
        payload={"incident_id": item.incident_id, "action_item": item.key, "issue": item.issue_url, "days": days},
    )


def open_work(pulls: list[OpenPull], items: list[OpenItem], now: datetime) -> str:
    """The `/incident list` section for post-mortems still in review and action items still open."""
    if not pulls and not items:
        return ""
    lines = ["*Post-mortems in GitHub*"]
    lines += [f"• *{pull.incident_id}* pull request <{esc(pull.url)}|#{pull.number}> not merged yet" for pull in pulls]
    for item in sorted(items, key=lambda i: i.filed_at):
        lines.append(
            f"• *{item.incident_id}* {item.key} <{esc(item.issue_url)}|#{item.issue_number}> "
            f"{esc(item.description)} — open {item.age(now) // DAY} d"
        )
    return "\n".join(lines)


def open_items_summary(items: list[OpenItem], now: datetime) -> str:
    """The weekly report's line: how many action items are open, and the oldest's age."""
    if not items:
        return ""
    oldest = max(item.age(now) for item in items) // DAY
    return f"{len(items)} post-mortem action item(s) open in GitHub, the oldest for {oldest} days."


def with_open_items(report: SlackMessage, items: list[OpenItem], now: datetime) -> SlackMessage:
    """The weekly compliance report with the open action items' count and age, when there are any."""
    line = open_items_summary(items, now)
    if not line:
        return report
    oldest = max(item.age(now) for item in items) // DAY
    return replace(
        report,
        text=f"{report.text} {line}",
        blocks=[*report.blocks, section(f":clipboard: {line}")],
        payload={**report.payload, "open_action_items": len(items), "oldest_action_item_days": oldest},
    )
