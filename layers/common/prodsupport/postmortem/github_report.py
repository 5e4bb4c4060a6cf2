"""The post-mortem file as the VA keeps it: named by date and short title, first line `# YYYY-MM-DD - Title`.

Pure: the file is rendered from the incident and what the caller knows (thread link, product owner, team);
the Action Items table can be rewritten in a file people have since edited, leaving the rest as they left it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from prodsupport.core.rendering import environment, one_line
from prodsupport.github.model import ActionItem
from prodsupport.incident.model import Incident
from prodsupport.postmortem.model import draft_context

TEMPLATE = "postmortem_github.md.j2"
BRANCH_PREFIX = "postmortem/"
ACTION_HEADING = "## Action Items"
TABLE_HEADER = ("| Description | Type | Owning Team | Issue # |", "| ----------- | ---- | ----------- | ------- |")
NO_ITEMS = "| _None filed yet: `/incident {id} action <description> [type …] [team …]`_ | | | |"
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_SLACK_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SENT_RE = re.compile(r"^(.*) \((\d+)\)$")
SLUG_WORDS = 6


def date(incident: Incident, zone: ZoneInfo) -> str:
    return incident.opened_at.astimezone(zone).date().isoformat()


def title(incident: Incident, zone: ZoneInfo) -> str:
    return f"{date(incident, zone)} - {one_line(incident.title)}"


def filename(incident: Incident, zone: ZoneInfo) -> str:
    """The date, then the first words of the title in lower case joined by hyphens, then `.md`."""
    words = _SLUG_RE.sub(" ", incident.title.lower()).split()[:SLUG_WORDS]
    slug = "-".join(words) or incident.id.lower()
    return f"{date(incident, zone)}-{slug}.md"


def branch(incident: Incident) -> str:
    return f"{BRANCH_PREFIX}{incident.id.lower()}"


def _cell(value: str) -> str:
    """Table cells hold one line and no column break of their own."""
    return one_line(value).replace("|", "\\|") or " "


def action_rows(incident_id: str, items: Iterable[ActionItem]) -> list[str]:
    rows = list(TABLE_HEADER)
    listed = False
    for item in items:
        listed = True
        issue = f"[#{item.issue_number}]({item.issue_url})" if item.issue_number else "_not filed yet_"
        if item.issue_number and not item.is_open:
            issue += " (closed)"
        kind = item.type or "_prevent, detect, mitigate or process_"
        rows.append(f"| {_cell(item.description)} | {kind} | {_cell(item.team) if item.team else '_Who?_'} | {issue} |")
    if not listed:
        rows.append(NO_ITEMS.format(id=incident_id))
    return rows


def contributors(incident: Incident) -> list[str]:
    """Every person who acted on the incident, in the order they first did: Slack users as `@U…`."""
    people = [incident.declared_by, incident.owner, *(entry.actor for entry in incident.timeline)]
    return [f"@{who}" for who in dict.fromkeys(people) if who and _SLACK_USER_RE.match(who)]


def render(
    incident: Incident, zone: ZoneInfo, *, thread_link: str, team: str, product_owner: str, items: list[ActionItem]
) -> str:
    context: dict[str, Any] = draft_context(incident, zone, thread_link=thread_link)
    people = contributors(incident)
    context.update(
        title=title(incident, zone),
        team=team,
        product_owner=f"@{product_owner}" if product_owner else "",
        crew=people,
        contributors=people,
        action_rows=action_rows(incident.id, items),
        stakeholder_emails=[_email(entry) for entry in context["timeline"] if entry["kind"] == "email_sent"],
    )
    return environment().get_template(TEMPLATE).render(context)


def _email(entry: dict[str, str]) -> dict[str, str]:
    """A sent email's timeline entry reads `<subject> (<recipients>)`."""
    match = _SENT_RE.match(entry["text"])
    subject, recipients = (match.group(1), match.group(2)) if match else (entry["text"], "?")
    return {"at": entry["at"], "subject": subject, "recipients": recipients}


def with_action_items(text: str, incident_id: str, items: list[ActionItem]) -> str:
    """The file with its Action Items table replaced; the section is added at the end if people removed it."""
    table = action_rows(incident_id, items)
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower() == ACTION_HEADING.lower())
    except StopIteration:
        return text.rstrip("\n") + "\n\n" + "\n".join([ACTION_HEADING, *table]) + "\n"
    first = start + 1
    while first < len(lines) and not lines[first].strip():
        first += 1
    end = first
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    if end == first:  # no table under the heading: put one there
        return "\n".join([*lines[: start + 1], *table, *lines[start + 1 :]]) + "\n"
    return "\n".join([*lines[:first], *table, *lines[end:]]) + "\n"
