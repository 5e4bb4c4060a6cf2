"""What is open in GitHub across incidents: post-mortem pull requests not yet merged, action items not closed.

One partition (`pk=GITHUB`) read by a single query, so `/incident list`, the weekly report and the reminder
never scan incidents. The incident item stays the record; these are its index, written right after it
changes, so a crash between the two can leave an entry out until the next change, never a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.github.model import ActionItem, PullRequest
from prodsupport.incident.model import Incident
from prodsupport.infra.dynamo import ConditionFailed, Table

PK = "GITHUB"


@dataclass(frozen=True)
class OpenPull:
    incident_id: str
    url: str
    number: int


@dataclass(frozen=True)
class OpenItem:
    incident_id: str
    key: str
    description: str
    issue_url: str
    issue_number: int
    filed_at: datetime
    channel_id: str
    thread_ts: str
    reminded: bool

    def age(self, now: datetime) -> timedelta:
        return now - self.filed_at


def record_pull(table: Table, incident: Incident, pull: PullRequest) -> None:
    table.put({"pk": PK, "sk": f"PR#{incident.id}", "incident_id": incident.id, "url": pull.url, "number": pull.number})


def forget_pull(table: Table, incident_id: str) -> None:
    table.delete(PK, f"PR#{incident_id}")


def record_item(table: Table, incident: Incident, item: ActionItem) -> None:
    table.put(
        {
            "pk": PK,
            "sk": f"ITEM#{incident.id}#{item.key}",
            "incident_id": incident.id,
            "key": item.key,
            "description": item.description,
            "issue_url": item.issue_url,
            "issue_number": item.issue_number,
            "filed_at": to_iso(item.filed_at),
            "channel_id": incident.channel_id,
            "thread_ts": incident.thread_ts,
        }
    )


def forget_item(table: Table, incident_id: str, key: str) -> None:
    table.delete(PK, f"ITEM#{incident_id}#{key}")


def claim_reminder(table: Table, item: OpenItem, now: datetime) -> bool:
    """True once per item: the reminder is posted by whichever run marks it first."""
    try:
        table.update(
            PK,
            f"ITEM#{item.incident_id}#{item.key}",
            "SET reminded_at = :now",
            condition="attribute_exists(pk) AND attribute_not_exists(reminded_at)",
            vals={":now": to_iso(now)},
        )
    except ConditionFailed:
        return False
    return True


def team_entries(table: Table, id_prefix: str) -> tuple[list[OpenPull], list[OpenItem]]:
    """One team's open pull requests and action items: the partition holds every team's, and an incident's id
    carries its team's prefix (`INC` for the default team, so a single team's are all of them); the prefix, not
    the channel, so the items of a team that moved its channel stay its own."""
    pulls, items = open_entries(table)
    own = f"{id_prefix}-"
    return [p for p in pulls if p.incident_id.startswith(own)], [i for i in items if i.incident_id.startswith(own)]


def open_entries(table: Table) -> tuple[list[OpenPull], list[OpenItem]]:
    pulls: list[OpenPull] = []
    items: list[OpenItem] = []
    for entry in table.query(key_condition="pk = :pk", names={}, vals={":pk": PK}):
        sk = str(entry["sk"])
        if sk.startswith("PR#"):
            pulls.append(OpenPull(str(entry["incident_id"]), str(entry["url"]), int(entry["number"])))
        elif sk.startswith("ITEM#"):
            items.append(
                OpenItem(
                    incident_id=str(entry["incident_id"]),
                    key=str(entry["key"]),
                    description=str(entry["description"]),
                    issue_url=str(entry["issue_url"]),
                    issue_number=int(entry["issue_number"]),
                    filed_at=parse_iso(str(entry["filed_at"])),
                    channel_id=str(entry["channel_id"]),
                    thread_ts=str(entry["thread_ts"]),
                    reminded="reminded_at" in entry,
                )
            )
    return pulls, items
