"""The incident: what the playbook tracks about one production problem, and the changes it allows.

Pure data and rules: no AWS, no Slack. Every change takes the instant it happened as an argument, so a
replay of the same events yields the same incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from prodsupport.core.settings import DEFAULT_ID_PREFIX, DEFAULT_TEAM_ID
from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.incident.painting import PaintLease

if TYPE_CHECKING:
    from prodsupport.github.model import ActionItem, PullRequest

Window = Literal["business", "after_hours"]
# What format_incident_id writes, for any team's prefix (a release id has the same shape and is not found).
INCIDENT_ID_RE = re.compile(r"^[A-Z]{2,6}-\d{4}-\d{4,}$", re.IGNORECASE)


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


class EmailState(StrEnum):
    """Where one email request stands; the values are what the table stores, on the request and its batches."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    FAILED = "failed"


class PostmortemState(StrEnum):
    DRAFTED = "drafted"
    SCHEDULED = "scheduled"
    HELD = "held"
    SHARED = "shared"


def format_incident_id(year: int, sequence: int, prefix: str = DEFAULT_ID_PREFIX) -> str:
    """`<team prefix>-<year of the opening date in the team's zone>-<4-digit sequence>`; the default team's
    prefix is `INC` (docs/design.md#identifiers)."""
    return f"{prefix}-{year}-{sequence:04d}"


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


class TimelineEntry(NamedTuple):
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
class PartnerTag:
    """A partner pulled into the incident: when and by whom (the post-mortem lists who was notified when), and
    whether PagerDuty was asked for a responder (`page_error` says why not, when it failed)."""

    name: str
    at: datetime
    by: str
    paged: bool = False
    page_error: str = ""

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"name": self.name, "at": to_iso(self.at), "by": self.by, "paged": self.paged}
        if self.page_error:
            record["page_error"] = self.page_error
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PartnerTag:
        return cls(
            name=record["name"],
            at=parse_iso(record["at"]),
            by=record.get("by", ""),
            paged=bool(record.get("paged", False)),
            page_error=record.get("page_error", ""),
        )


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
        # Only a resolved incident has a post-mortem: an open one is read without loading the GitHub model.
        from prodsupport.github.model import ActionItem, PullRequest  # noqa: PLC0415 - cold start

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
    state: EmailState = EmailState.QUEUED
    message_id: str = ""
    sent_at: datetime | None = None
    error: str = ""

    def to_record(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "requested_at": to_iso(self.requested_at),
            "requested_by": self.requested_by,
            "state": self.state.value,
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
            state=EmailState(record.get("state", EmailState.QUEUED)),
            message_id=record.get("message_id", ""),
            sent_at=_opt_time(record.get("sent_at")),
            error=record.get("error", ""),
        )


class PendingNotice(NamedTuple):
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
    partners: list[PartnerTag] = field(default_factory=list)
    partners_suggested: bool = False
    team: str = DEFAULT_TEAM_ID  # an item written before teams has none: it is the default team's
    painting: PaintLease | None = None  # the last save's card lease (incident/painting.py), set by the store
    # The claim of the delivery whose reply was the Slack ack, written with it (IncidentStore.record_reply) and
    # kept through later saves, so a repeat of that delivery within its lease is still told to wait.
    ack_delivery: dict[str, Any] | None = None

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

    # --- transitions: every surface (Slack, PagerDuty, the checker, the email sender) changes an incident
    # through these, so each rule has one implementation. They are pure: the caller passes the instant and
    # whatever the policy decided, and writes the result in one conditional save.

    def acknowledge(self, at: datetime, user: str, text: str) -> Deadline | None:
        """A person's message in the thread: the first one is the Slack ack, and goes on the timeline."""
        met = self.meet(Sla.SLACK_ACK, at)
        if met is not None:
            self.note(at, "acknowledged", user, text)
        return met

    def track_pagerduty_ack(self) -> None:
        """The PagerDuty ack gets the Slack ack's due time: the playbook gives both the same window, fixed by
        when the incident opened, not by when someone linked it."""
        if Sla.PAGERDUTY_ACK not in self.deadlines:
            self.deadlines[Sla.PAGERDUTY_ACK] = Deadline(due=self.deadlines[Sla.SLACK_ACK].due)

    def link_pagerduty(self, link: PagerDutyLink, at: datetime, user: str) -> None:
        """Linked from Slack: the PagerDuty incident's acknowledgement is tracked from now on."""
        self.pagerduty = link
        self.track_pagerduty_ack()
        self.note(at, "pagerduty_linked", user, link.incident_id)

    def acknowledge_in_pagerduty(self, at: datetime, agent: str) -> Deadline | None:
        """Every acknowledgement in PagerDuty goes on the timeline; the first meets the PagerDuty clock and
        names who acknowledged (the playbook counts the first, also after an unacknowledge)."""
        met = self.meet(Sla.PAGERDUTY_ACK, at)
        if met is not None and self.pagerduty is not None:
            self.pagerduty.acknowledged_by = agent
        self.note(at, "pagerduty_acknowledged", Source.PAGERDUTY.value, f"Acknowledged in PagerDuty by {agent}")
        return met

    def mark_breached(self, sla: Sla, at: datetime) -> None:
        """The clock ran out unmet: it stops being pending, and the timeline says so."""
        self.deadlines[sla].breached_at = at
        self.note(at, "sla_breached", "prodsupport", f"{sla.value} was due and is not met")

    def mark_reminded(self, sla: Sla, leads: list[int]) -> tuple[int, ...]:
        """Mark reminder leads as sent; returns the ones not marked before, which are what a failed
        announcement has to give back."""
        deadline = self.deadlines[sla]
        added = tuple(lead for lead in leads if lead not in deadline.reminded)
        deadline.reminded.extend(added)
        return added

    def unmark(self, sla: Sla, leads: tuple[int, ...], *, breach: bool) -> None:
        """Give back what `mark_breached`/`mark_reminded` marked, so the clock is owed again: the given
        reminder leads, and for a breach its mark and its timeline entry."""
        deadline = self.deadlines.get(sla)
        if deadline is None:
            return
        if breach and deadline.breached_at is not None:
            breached_at, deadline.breached_at = deadline.breached_at, None
            self.timeline = [
                e
                for e in self.timeline
                if not (e.kind == "sla_breached" and e.at == breached_at and sla.value in e.text)
            ]
        deadline.reminded = [lead for lead in deadline.reminded if lead not in leads]

    def resolve(self, at: datetime, resolution: str, actor: str) -> bool:
        """Resolve once; False when it already was, so a second resolve changes nothing.

        No update is owed after the end, so the status-update clock goes with the promise it tracked.
        """
        if self.status is Status.RESOLVED:
            return False
        self.status = Status.RESOLVED
        self.ended_at = at
        self.resolution = resolution
        self.next_update_at = None
        self.deadlines.pop(Sla.STATUS_UPDATE, None)
        self.note(at, "resolved", actor, resolution)
        return True

    def reopen(self) -> bool:
        """Open again after a resolve; the clocks stay as they were and the timeline keeps the old resolution,
        while the incident's own resolution is cleared so the stakeholder email says 'Ongoing' again."""
        if self.status is Status.OPEN:
            return False
        self.status = Status.OPEN
        self.ended_at = None
        self.resolution = ""
        return True

    def update_status(self, at: datetime, text: str, next_update_at: datetime | None = None) -> Deadline | None:
        """The latest status, which meets any promised update; a promise of the next one gets its own clock.

        Returns the status-update deadline this met, if one was pending.
        """
        self.current_status = text
        self.status_at = at
        self.next_update_at = next_update_at
        met = self.meet(Sla.STATUS_UPDATE, at)
        if next_update_at is not None:
            self.deadlines[Sla.STATUS_UPDATE] = Deadline(due=next_update_at)
        return met

    def change_severity(
        self, severity: Severity, email_due: datetime, owes_email: frozenset[Severity] = frozenset({Severity.CRITICAL})
    ) -> bool:
        """Becoming a severity that owes the stakeholder email (`owes_email`, the team's `email_severities`)
        starts the email clock, due at `email_due` (the policy's 24 hours from the original opening, not from
        now); returns whether the severity changed.

        Stepping down to one that owes none (a false alarm) owes no stakeholder email any more, so a clock still
        pending is dropped; one already met or breached stays on the record.
        """
        changed = self.severity is not severity
        self.severity = severity
        email = self.deadlines.get(Sla.STAKEHOLDER_EMAIL)
        if severity in owes_email and email is None:
            self.deadlines[Sla.STAKEHOLDER_EMAIL] = Deadline(due=email_due)
        elif severity not in owes_email and email is not None and email.pending:
            del self.deadlines[Sla.STAKEHOLDER_EMAIL]
        return changed

    def request_email(self, at: datetime, requested_by: str) -> EmailRecord:
        """Record a stakeholder email asked for, queued; its id numbers the incident's emails from 1."""
        record = EmailRecord(request_id=f"{self.id}-{len(self.emails) + 1}", requested_at=at, requested_by=requested_by)
        self.emails.append(record)
        return record

    def email_not_queued(self, request_id: str, error: str) -> None:
        """The queue refused the request, so nothing will send it: it failed before it started."""
        for record in self.emails:
            if record.request_id == request_id:
                record.state = EmailState.FAILED
                record.error = f"not queued: {error}"

    def record_email_outcome(
        self,
        request: EmailRecord,
        outcome: EmailState,
        at: datetime,
        *,
        message_id: str = "",
        error: str = "",
        sent_note: str = "",
    ) -> bool:
        """What the sender made of an email request; False for an outcome already recorded.

        `request` names the email (and is kept as is if the incident has no record of it); `message_id` and
        `error` are SES's, `sent_note` the timeline text of a send. The first email sent meets the
        stakeholder-email clock.
        """
        record = next((e for e in self.emails if e.request_id == request.request_id), None)
        if record is None:
            record = request
            self.emails.append(record)
        if record.state == outcome:
            return False
        record.state = outcome
        record.message_id = message_id
        record.error = error
        if outcome is EmailState.SENT:
            record.sent_at = at
            self.meet(Sla.STAKEHOLDER_EMAIL, at)
            self.note(at, "email_sent", request.requested_by, sent_note)
        else:
            self.note(at, f"email_{outcome.value}", "prodsupport", error)
        return True

    def partner(self, name: str) -> PartnerTag | None:
        """The tag of a partner already pulled in, by its directory name in any case."""
        return next((tag for tag in self.partners if tag.name.casefold() == name.casefold()), None)

    def tag_partner(self, name: str, at: datetime, by: str) -> PartnerTag | None:
        """Pull a partner in once: None when it already was, so a second tag pings nobody again."""
        if self.partner(name) is not None:
            return None
        tag = PartnerTag(name, at, by)
        self.partners.append(tag)
        self.note(at, "partner_tagged", by, name)
        return tag

    def to_record(self) -> dict[str, Any]:
        record = self._record()
        # Written only once used, so an incident that never met a partner keeps the item it had before.
        if self.partners:
            record["partners"] = [tag.to_record() for tag in self.partners]
        if self.partners_suggested:
            record["partners_suggested"] = True
        if self.painting is not None:
            record["painting"] = self.painting.to_record()
        if self.ack_delivery is not None:
            record["ack_delivery"] = dict(self.ack_delivery)
        return record

    def _record(self) -> dict[str, Any]:
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
            "team": self.team,
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
            partners=[PartnerTag.from_record(tag) for tag in record.get("partners") or []],
            partners_suggested=bool(record.get("partners_suggested", False)),
            team=str(record.get("team") or DEFAULT_TEAM_ID),
            painting=PaintLease.from_record(record.get("painting")),
            ack_delivery=dict(record["ack_delivery"]) if isinstance(record.get("ack_delivery"), dict) else None,
        )
