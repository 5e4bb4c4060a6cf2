"""The playbook's clocks as rules: when each deadline falls, when to remind, when it is breached.

Every number here comes from settings, with the playbook's figures as defaults, so a team with another
playbook changes configuration rather than code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from prodsupport.core.calendar import PlaybookCalendar
from prodsupport.core.settings import DEFAULT_ID_PREFIX, DEFAULT_TEAM_ID
from prodsupport.incident.model import (
    Deadline,
    Incident,
    Severity,
    Sla,
    Source,
    Window,
    format_incident_id,
)

ACK_SLAS = (Sla.SLACK_ACK, Sla.PAGERDUTY_ACK)
# How long a checker run owns a notice it claimed: longer than the checker's Timeout (60 s in template.yaml),
# so a notice still pending after it belongs to a run Lambda has killed, and a later run delivers it.
NOTICE_LEASE = timedelta(minutes=3)


class SlaAction(NamedTuple):
    """Something the checker owes the channel: a reminder `lead` minutes before `due`, or the breach."""

    kind: Literal["reminder", "breach"]
    sla: Sla
    due: datetime
    lead: int = 0


@dataclass(frozen=True)
class SlaPolicy:
    calendar: PlaybookCalendar = field(default_factory=PlaybookCalendar)
    ack_business: timedelta = timedelta(minutes=15)
    ack_after_hours: timedelta = timedelta(minutes=60)
    email_within: timedelta = timedelta(hours=24)
    email_severities: frozenset[Severity] = frozenset({Severity.CRITICAL})
    ack_reminder_leads: tuple[int, ...] = (5,)
    email_reminder_leads: tuple[int, ...] = (240, 60)
    status_reminder_leads: tuple[int, ...] = (15,)
    postmortem_reminder_leads: tuple[int, ...] = (24 * 60,)
    postmortem_schedule_business_days: int = 2
    postmortem_share_business_days: int = 10

    def window(self, opened_at: datetime) -> Window:
        return self.calendar.window(opened_at)

    def ack_due(self, opened_at: datetime) -> datetime:
        """The window is fixed by when the incident opened, not by when anyone looks at it."""
        inside = self.calendar.in_business_hours(opened_at)
        return opened_at + (self.ack_business if inside else self.ack_after_hours)

    def email_due(self, opened_at: datetime) -> datetime:
        return opened_at + self.email_within

    def leads(self, sla: Sla) -> tuple[int, ...]:
        if sla in ACK_SLAS:
            return self.ack_reminder_leads
        if sla is Sla.STAKEHOLDER_EMAIL:
            return self.email_reminder_leads
        if sla is Sla.STATUS_UPDATE:
            return self.status_reminder_leads
        return self.postmortem_reminder_leads

    @property
    def largest_lead(self) -> timedelta:
        leads = (
            self.ack_reminder_leads
            + self.email_reminder_leads
            + self.status_reminder_leads
            + self.postmortem_reminder_leads
        )
        return timedelta(minutes=max(leads, default=0))

    def incident_year(self, opened_at: datetime) -> int:
        return self.calendar.local(opened_at).year

    def new_incident(
        self,
        *,
        sequence: int,
        title: str,
        severity: Severity,
        source: Source,
        channel_id: str,
        thread_ts: str,
        opened_at: datetime,
        declared_by: str,
        applications: list[str],
        owner: str,
        acknowledged_at: datetime | None = None,
        team: str = DEFAULT_TEAM_ID,
        id_prefix: str = DEFAULT_ID_PREFIX,
    ) -> Incident:
        """Open an incident with its clocks started, its id in its team's sequence (`id_prefix`).

        A human declaring the incident has acknowledged it by the playbook's definition (creating the
        thread is a message post), so their declaration meets the Slack ack at `acknowledged_at` (the
        moment they declared, which for a shortcut on an older message is later than `opened_at`).
        """
        ack_due = self.ack_due(opened_at)
        incident = Incident(
            id=format_incident_id(self.incident_year(opened_at), sequence, id_prefix),
            title=title,
            severity=severity,
            source=source,
            channel_id=channel_id,
            thread_ts=thread_ts,
            opened_at=opened_at,
            window=self.window(opened_at),
            declared_by=declared_by,
            applications=applications,
            owner=owner,
            deadlines={Sla.SLACK_ACK: Deadline(due=ack_due)},
            team=team,
        )
        if source is Source.PAGERDUTY:
            incident.deadlines[Sla.PAGERDUTY_ACK] = Deadline(due=ack_due)
        if severity in self.email_severities:
            incident.deadlines[Sla.STAKEHOLDER_EMAIL] = Deadline(due=self.email_due(opened_at))
        incident.note(opened_at, "declared", declared_by or source.value, f"{severity.value}: {title}")
        if declared_by and source in (Source.SLASH_COMMAND, Source.MESSAGE_SHORTCUT):
            incident.meet(Sla.SLACK_ACK, acknowledged_at or opened_at)
        return incident

    def next_check(self, incident: Incident) -> datetime | None:
        """The earliest instant the checker owes this incident something; None takes it off the due index.

        A claimed notice not yet known to be posted is owed too: when its lease runs out, so an incident with
        nothing else pending stays on the index until the notice is delivered.
        """
        moments = [notice.claimed_at + NOTICE_LEASE for notice in incident.pending_notices]
        for sla, deadline in incident.pending_deadlines().items():
            moments.extend(
                deadline.due - timedelta(minutes=lead) for lead in self.leads(sla) if lead not in deadline.reminded
            )
            moments.append(deadline.due)
        return min(moments, default=None)

    def due_actions(self, incident: Incident, now: datetime) -> list[SlaAction]:
        """What is owed at `now`. A checker that was down past several leads sends only the latest one."""
        actions: list[SlaAction] = []
        for sla, deadline in incident.pending_deadlines().items():
            if now >= deadline.due:
                actions.append(SlaAction("breach", sla, deadline.due))
                continue
            passed = [
                lead
                for lead in self.leads(sla)
                if lead not in deadline.reminded and now >= deadline.due - timedelta(minutes=lead)
            ]
            if passed:
                actions.append(SlaAction("reminder", sla, deadline.due, min(passed)))
        return actions

    def apply(self, incident: Incident, action: SlaAction, now: datetime) -> tuple[int, ...]:
        """Mark an action as done on the incident, so a second run at the same minute owes nothing; returns
        the reminder leads it marked (a reminder covers every lead it passed, down to its own)."""
        if action.kind == "breach":
            incident.mark_breached(action.sla, now)
            return ()
        return incident.mark_reminded(action.sla, [lead for lead in self.leads(action.sla) if lead >= action.lead])
