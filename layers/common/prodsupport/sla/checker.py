"""The SLA checker's run: every minute, post what the playbook's clocks owe, exactly once.

Runs overlap and the scheduler retries, so an action is claimed before it is announced: the reminder or
breach is marked on the incident with a write conditional on the version read, and only the run whose
write won posts. A post that fails for sure gives the claim back, so the next run tries again rather than
the reminder being lost; a post that cannot finish in the function's time, or whose outcome is unknown
(Slack answered too late), keeps the claim and goes to the outbox, which posts it once — so a slow Slack
gets one reminder, not one a minute. A run stops claiming when too little time is left. Each incident is
checked in its own try/except: one broken incident is logged with its id and counted, and the others are
still checked.

The run reads only the sparse "due" index, so its cost follows the open deadlines, never the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from prodsupport.incident.model import Incident
from prodsupport.incident.policy import SlaAction
from prodsupport.incident.store import MAX_ATTEMPTS, ConflictError
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.infra.outbox import deliver
from prodsupport.infra.slack_api import TIMEOUT_SECONDS, post
from prodsupport.roster.oncall import oncall_user
from prodsupport.roster.out_of_office import email_owner
from prodsupport.sla import messages as sla_messages
from prodsupport.sla.messages import Escalation, SlaNotice

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
# An incident is claimed only when one post can still be attempted and handed over after the claim.
CLAIM_SECONDS = TIMEOUT_SECONDS + 1.0


@dataclass
class CheckReport:
    """What one run did, for the handler's metrics."""

    checked: int = 0
    reminders: int = 0
    breaches: int = 0
    refreshed: int = 0
    failures: int = 0
    direct_message_failures: int = 0
    lag_seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimedAction:
    """An action this run won, and exactly what it marked, so a failed post can give back only that."""

    action: SlaAction
    leads: tuple[int, ...] = ()


@dataclass
class _People:
    """The on-call and the roster, looked up once per run and only if some incident is owed something."""

    rt: Runtime
    now: datetime

    @cached_property
    def escalation(self) -> Escalation:
        return Escalation(oncall=oncall_user(self.rt, self.now), pm=email_owner(self.rt))


def run(rt: Runtime, now: datetime) -> CheckReport:
    """Look ahead by the largest reminder lead, so a lead configured after a save is still honoured."""
    report = CheckReport()
    people = _People(rt, now)
    horizon = now + rt.policy.largest_lead

    def corrupt(key: str) -> None:
        report.failures += 1

    for incident in rt.store.due(horizon, on_corrupt=corrupt):
        if rt.budget.usable_seconds() < CLAIM_SECONDS:
            logger.warning("out of time: the next run checks the incidents left", incident_id=incident.id)
            break
        report.checked += 1
        try:
            _check(rt, incident, now, horizon, people, report)
        except Exception:
            report.failures += 1
            logger.exception("SLA check failed for an incident", incident_id=incident.id)
    return report


def _check(
    rt: Runtime, incident: Incident, now: datetime, horizon: datetime, people: _People, report: CheckReport
) -> None:
    """Claim what this incident is owed, then announce it; give back any claim whose post failed."""
    claimed = _claim(rt, incident, now, horizon, report)
    if claimed is None:
        return
    saved, claims = claimed
    for index, claim in enumerate(claims):
        try:
            notice = sla_messages.notice(saved, claim.action, people.escalation, now, zone=rt.zone)
            posted = deliver(rt, notice.thread)
        except Exception:
            _give_back(rt, saved, claims[index:], now)
            raise
        if not posted:
            continue  # the outbox owns it now: the claim stands, and the thread gets it once, later
        _count(report, claim.action, now)
        if notice.direct_to:
            _post_direct(rt, notice, saved, report)


def _claim(
    rt: Runtime, incident: Incident, now: datetime, horizon: datetime, report: CheckReport
) -> tuple[Incident, list[ClaimedAction]] | None:
    """Mark the owed actions with a conditional save; a lost race re-reads and owes only what is left."""
    current: Incident | None = incident
    for _ in range(MAX_ATTEMPTS):
        if current is None:
            return None
        actions = rt.policy.due_actions(current, now)
        if not actions:
            _refresh(rt, current, horizon, report)
            return None
        claims = []
        for action in actions:
            claims.append(ClaimedAction(action, rt.policy.apply(current, action, now)))
        try:
            return rt.store.save(current), claims
        except ConditionFailed:
            current = rt.store.get(incident.channel_id, incident.thread_ts)
    raise ConflictError(f"{incident.id} kept changing while its SLA actions were claimed")


def _refresh(rt: Runtime, incident: Incident, horizon: datetime, report: CheckReport) -> None:
    """Move an incident the hot path left stale to where it belongs on the due index.

    A Slack ack recorded by the hot path meets the deadline without recomputing `next_check`, so the
    incident keeps coming back. Saving it recomputes `next_check`: past the horizon, or off the index when
    nothing is pending. An incident whose next moment is within the horizon is left alone: it is read again
    until then at the cost of one item, where saving it would rewrite it every minute.
    """
    next_check = rt.policy.next_check(incident)
    if next_check is not None and next_check <= horizon:
        return
    try:
        rt.store.save(incident)
    except ConditionFailed:
        return  # someone else saved it, and every save recomputes next_check
    report.refreshed += 1


def _post_direct(rt: Runtime, notice: SlaNotice, incident: Incident, report: CheckReport) -> None:
    """Best effort: the thread already has the reminder, so a failed DM is counted, not retried."""
    try:
        opened = rt.slack.conversations_open(users=notice.direct_to)
        post(rt.slack, notice.direct(str(opened["channel"]["id"])))
    except Exception:
        report.direct_message_failures += 1
        logger.exception("direct SLA reminder failed", incident_id=incident.id, user=notice.direct_to)


def _give_back(rt: Runtime, incident: Incident, claims: list[ClaimedAction], now: datetime) -> None:
    """Undo the marks of claims that were not announced, so the next run owes them again."""

    def give_back(current: Incident) -> None:
        for claim in claims:
            current.unmark(claim.action.sla, now, claim.leads, breach=claim.action.kind == "breach")

    rt.store.mutate(incident.channel_id, incident.thread_ts, give_back)


def _count(report: CheckReport, action: SlaAction, now: datetime) -> None:
    """Lag is how long after the action fell due it was announced: the checker's own punctuality."""
    if action.kind == "breach":
        report.breaches += 1
        owed_since = action.due
    else:
        report.reminders += 1
        owed_since = action.due - timedelta(minutes=action.lead)
    report.lag_seconds.append((now - owed_since).total_seconds())
