"""The incident: what the playbook tracks about one production problem, and the changes it allows.

Pure data and rules: no AWS, no Slack. Every change takes the instant it happened as an argument, so a
replay of the same events yields the same incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.github.model import ActionItem, PullRequest

Window = Literal["business", "after_hours"]
INCIDENT_ID_RE = re.compile(r"^INC-\d{4}-\d{4,}$", re.IGNORECASE)  # what format_incident_id writes


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class Source(StrEnum):
    SLASH_COMMAND = "slash_command"
    MESSAGE_SHORTCUT = "message_shortcut"
    ALERT_MESSAGE = "alert_message"
    PAGERDUTY = "pagerduty"


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Sla(StrEnum):
    SLACK_ACK = "slack_ack"
    PAGERDUTY_ACK = "pagerduty_ack"
    STAKEHOLDER_EMAIL = "stakeholder_email"
    STATUS_UPDATE = "status_update"
    POSTMORTEM_SCHEDULED = "postmortem_scheduled"
    POSTMORTEM_SHARED = "postmortem_shared"


class PostmortemState(StrEnum):
    DRAFTED = "drafted"
    SCHEDULED = "scheduled"
    HELD = "held"
    SHARED = "shared"


def format_incident_id(year: int, sequence: int) -> str:
    """`INC-<year of the opening date in ET>-<4-digit sequence>`, as docs/design.md#identifiers fixes it."""
    return f"INC-{year}-{sequence:04d}"


def _opt_time(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


def _opt_iso(value: datetime | None) -> str | None:
    return to_iso(value) if value else None


@dataclass
class Deadline:
    """One playbook clock. It stops being pending once met or breached; a late ack is still recorded."""

    due: datetime
    met_at: datetime | None = None
    reminded: list[int] = field(default_factory=list)
    breached_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.met_at is None and self.breached_at is None

    def met_in_time(self) -> bool | None:
        return None if self.met_at is None else self.met_at <= self.due

    def to_record(self) -> dict[str, Any]:
        return {
            "due": to_iso(self.due),
            "met_at": _opt_iso(self.met_at),
            "reminded": list(self.reminded),
            "breached_at": _opt_iso(self.breached_at),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Deadline:
        return cls(
            due=parse_iso(record["due"]),
            met_at=_opt_time(record.get("met_at")),
            reminded=[int(lead) for lead in record.get("reminded") or []],
            breached_at=_opt_time(record.get("breached_at")),
        )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    actor: str
    text: str

    def to_record(self) -> dict[str, Any]:
        return {"at": to_iso(self.at), "kind": self.kind, "actor": self.actor, "text": self.text}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TimelineEntry:
        return cls(parse_iso(record["at"]), record["kind"], record["actor"], record["text"])


@dataclass
class PagerDutyLink:
    incident_id: str
    url: str = ""
    acknowledged_by: str = ""

    def to_record(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "url": self.url, "acknowledged_by": self.acknowledged_by}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PagerDutyLink:
        return cls(record["incident_id"], record.get("url", ""), record.get("acknowledged_by", ""))


@dataclass
class Postmortem:
    """`draft_pending_since` is when a resolve began posting the draft; it is cleared once the file and the
    drafted message are in the thread, so a draft a failed resolve never posted is still owed."""

    state: PostmortemState
    drafted_at: datetime
    scheduled_for: datetime | None = None
    attendees: list[str] = field(default_factory=list)
    url: str = ""
    pull_request: PullRequest | None = None
    action_items: list[ActionItem] = field(default_factory=list)
    draft_pending_since: datetime | None = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "state": self.state.value,
            "drafted_at": to_iso(self.drafted_at),
            "scheduled_for": _opt_iso(self.scheduled_for),
            "attendees": list(self.attendees),
            "url": self.url,
        }
        if self.pull_request is not None:
            record["pull_request"] = self.pull_request.to_record()
        if self.action_items:
            record["action_items"] = [item.to_record() for item in self.action_items]
        if self.draft_pending_since is not None:
            record["draft_pending_since"] = to_iso(self.draft_pending_since)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Postmortem:
        return cls(
            state=PostmortemState(record["state"]),
            drafted_at=parse_iso(record["drafted_at"]),
            scheduled_for=_opt_time(record.get("scheduled_for")),
            attendees=list(record.get("attendees") or []),
            url=record.get("url", ""),
            pull_request=PullRequest.from_record(record["pull_request"]) if record.get("pull_request") else None,
            action_items=[ActionItem.from_record(item) for item in record.get("action_items") or []],
            draft_pending_since=_opt_time(record.get("draft_pending_since")),
        )


@dataclass
class EmailRecord:
    """One stakeholder email the incident asked for; `message_id` is SES's once it went out."""

    request_id: str
    requested_at: datetime
    requested_by: str
    state: str = "queued"
    message_id: str = ""
    sent_at: datetime | None = None
    error: str = ""

    def to_record(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "requested_at": to_iso(self.requested_at),
            "requested_by": self.requested_by,
            "state": self.state,
            "message_id": self.message_id,
            "sent_at": _opt_iso(self.sent_at),
            "error": self.error,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> EmailRecord:
        return cls(
            request_id=record["request_id"],
            requested_at=parse_iso(record["requested_at"]),
            requested_by=record.get("requested_by", ""),
            state=record.get("state", "queued"),
            message_id=record.get("message_id", ""),
            sent_at=_opt_time(record.get("sent_at")),
            error=record.get("error", ""),
        )


@dataclass(frozen=True)
class PendingNotice:
    """An SLA reminder or breach claimed by a checker run and not yet known to be in Slack.

    Written in the same conditional save as the reminded/breached mark and cleared once the notice is posted
    (or owned by the outbox), so a run killed in between leaves a trace a later run can finish from:
    enough to rebuild the action, and when the claim was taken (the lease starts there).
    """

    sla: Sla
    kind: Literal["reminder", "breach"]
    due: datetime
    lead: int
    claimed_at: datetime

    def to_record(self) -> dict[str, Any]:
        return {
            "sla": self.sla.value,
            "kind": self.kind,
            "due": to_iso(self.due),
            "lead": self.lead,
            "claimed_at": to_iso(self.claimed_at),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PendingNotice:
        return cls(
            sla=Sla(record["sla"]),
            kind="breach" if record["kind"] == "breach" else "reminder",
            due=parse_iso(record["due"]),
            lead=int(record.get("lead", 0)),
            claimed_at=parse_iso(record["claimed_at"]),
        )


@dataclass
class Incident:
    id: str
    title: str
    severity: Severity
    source: Source
    channel_id: str
    thread_ts: str
    opened_at: datetime
    window: Window
    declared_by: str = ""
    applications: list[str] = field(default_factory=list)
    deadlines: dict[Sla, Deadline] = field(default_factory=dict)
    summary: str = ""
    business_impact: str = ""
    current_status: str = ""
    status_at: datetime | None = None
    next_update_at: datetime | None = None
    resolution: str = ""
    ended_at: datetime | None = None
    owner: str = ""
    status: Status = Status.OPEN
    version: int = 0
    timeline: list[TimelineEntry] = field(default_factory=list)
    card_ts: str = ""
    reaction_noted: bool = False
    pagerduty: PagerDutyLink | None = None
    postmortem: Postmortem | None = None
    emails: list[EmailRecord] = field(default_factory=list)
    postmortem_needed: bool = False
    pending_notices: list[PendingNotice] = field(default_factory=list)

    @property
    def primary_application(self) -> str:
        return self.applications[0] if self.applications else "Check-In Experience"

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN

    def note(self, at: datetime, kind: str, actor: str, text: str) -> TimelineEntry:
        """Append to the timeline; it is append-only so the post-mortem can replay it entry for entry."""
        entry = TimelineEntry(at, kind, actor, text)
        self.timeline.append(entry)
        return entry

    def meet(self, sla: Sla, at: datetime) -> Deadline | None:
        """Record that a clock's obligation was fulfilled; only the first fulfilment counts."""
        deadline = self.deadlines.get(sla)
        if deadline is None or deadline.met_at is not None:
            return None
        deadline.met_at = at
        return deadline

    def pending_deadlines(self) -> dict[Sla, Deadline]:
        return {sla: d for sla, d in self.deadlines.items() if d.pending}

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "source": self.source.value,
            "channel_id": self.channel_id,
            "thread_ts": self.thread_ts,
            "opened_at": to_iso(self.opened_at),
            "window": self.window,
            "declared_by": self.declared_by,
            "applications": list(self.applications),
            "deadlines": {sla.value: d.to_record() for sla, d in self.deadlines.items()},
            "summary": self.summary,
            "business_impact": self.business_impact,
            "current_status": self.current_status,
            "status_at": _opt_iso(self.status_at),
            "next_update_at": _opt_iso(self.next_update_at),
            "resolution": self.resolution,
            "ended_at": _opt_iso(self.ended_at),
            "owner": self.owner,
            "status": self.status.value,
            "version": self.version,
            "timeline": [entry.to_record() for entry in self.timeline],
            "card_ts": self.card_ts,
            "reaction_noted": self.reaction_noted,
            "pagerduty": self.pagerduty.to_record() if self.pagerduty else None,
            "postmortem": self.postmortem.to_record() if self.postmortem else None,
            "emails": [email.to_record() for email in self.emails],
            "postmortem_needed": self.postmortem_needed,
            "pending_notices": [notice.to_record() for notice in self.pending_notices],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Incident:
        return cls(
            id=record["id"],
            title=record["title"],
            severity=Severity(record["severity"]),
            source=Source(record["source"]),
            channel_id=record["channel_id"],
            thread_ts=record["thread_ts"],
            opened_at=parse_iso(record["opened_at"]),
            window="business" if record["window"] == "business" else "after_hours",
            declared_by=record.get("declared_by", ""),
            applications=list(record.get("applications") or []),
            deadlines={Sla(k): Deadline.from_record(v) for k, v in (record.get("deadlines") or {}).items()},
            summary=record.get("summary", ""),
            business_impact=record.get("business_impact", ""),
            current_status=record.get("current_status", ""),
            status_at=_opt_time(record.get("status_at")),
            next_update_at=_opt_time(record.get("next_update_at")),
            resolution=record.get("resolution", ""),
            ended_at=_opt_time(record.get("ended_at")),
            owner=record.get("owner", ""),
            status=Status(record.get("status", "open")),
            version=int(record.get("version", 0)),
            timeline=[TimelineEntry.from_record(e) for e in record.get("timeline") or []],
            card_ts=record.get("card_ts", ""),
            reaction_noted=bool(record.get("reaction_noted", False)),
            pagerduty=PagerDutyLink.from_record(record["pagerduty"]) if record.get("pagerduty") else None,
            postmortem=Postmortem.from_record(record["postmortem"]) if record.get("postmortem") else None,
            emails=[EmailRecord.from_record(e) for e in record.get("emails") or []],
            postmortem_needed=bool(record.get("postmortem_needed", False)),
            pending_notices=[PendingNotice.from_record(n) for n in record.get("pending_notices") or []],
        )
