"""The SLA checker's run: every minute, post what the playbook's clocks owe, exactly once.

Runs overlap and the scheduler retries, so an action is claimed before it is announced: the reminder or
breach is marked on the incident, together with a pending notice, in a write conditional on the version
read, and only the run whose write won posts. Once the notice is in Slack (or owned by the outbox) a second
conditional write clears the pending notice: that is "marked sent". A post that fails for sure gives the
claim back in that same write, so the next run tries again rather than the reminder being lost; a post that
cannot finish in the function's time, or whose outcome is unknown (Slack answered too late), goes to the
outbox, which posts it once — so a slow Slack gets one reminder, not one a minute. Such a post that the
outbox cannot take either is not given back (it may be in the thread): it stays pending, as below.

A run that dies between the two writes (out of memory, a crash, Lambda's kill) leaves its notice pending.
Its lease (`NOTICE_LEASE`, longer than the function's Timeout) runs on the wall clock, as the run's own
scheduled time may be minutes old on a retry; once it is over, a later run takes the notice over with the
same kind of conditional write and delivers it looking in the thread first: the effect id is the same, so
a post that did land is found, not repeated. A reminder whose deadline was met or has come meanwhile is
cleared unposted, and a taken-over notice is not sent again as a direct message (that copy is best effort).

A run stops claiming when too little time is left. Each incident is checked in its own try/except: one
broken incident is logged with its id and counted, and the others are still checked.

The run reads only the sparse "due" index, so its cost follows the open deadlines, never the history.
"""

from __future__ import annotations

from copy import replace
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from prodsupport.incident.model import Incident, PendingNotice
from prodsupport.incident.policy import NOTICE_LEASE, SlaAction
from prodsupport.incident.store import MAX_ATTEMPTS, ConflictError
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.infra.outbox import hand_over
from prodsupport.infra.slack_api import TIMEOUT_SECONDS, Deferred, post
from prodsupport.infra.slack_message import SlackMessage
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
    team_errors: int = 0
    lag_seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimedAction:
    """An action this run won, its pending notice, and exactly what it marked, so a failed post can give back
    only that; `taken_over` when the notice was left pending by a run that died."""

    action: SlaAction
    pending: PendingNotice
    leads: tuple[int, ...] = ()
    taken_over: bool = False


@dataclass
class _People:
    """The on-call and the roster, looked up once per run and only if some incident is owed something."""

    rt: Runtime
    now: datetime

    @cached_property
    def escalation(self) -> Escalation:
        return Escalation(oncall=oncall_user(self.rt, self.now), pm=email_owner(self.rt))


def run(rt: Runtime, now: datetime) -> CheckReport:
    """Look ahead by the largest reminder lead, so a lead configured after a save is still honoured.

    One query reads what is due for every team (the widest lead of all); each incident is then checked with
    its own team's view (`Incident.team`), within its team's lead. An incident of a team that cannot be served
    (removed from the configuration, or its configuration does not validate) is logged and counted
    (`TeamConfigErrors`, alarmed) and skipped: the other teams' incidents are still checked. A team the cold
    start dropped (`Settings.dropped_teams`) is counted on every run, so its alarm holds until it is fixed.
    """
    report = CheckReport()
    for error in rt.settings.dropped_teams:
        _team_unavailable(report, "(dropped)", LookupError(error))
    teams: dict[str, tuple[Runtime, _People] | None] = {}
    for team_id, view in rt.all_teams():
        if isinstance(view, Exception):
            _team_unavailable(report, team_id, view)
            teams[team_id] = None
        else:
            teams[team_id] = (view, _People(view, now))
    horizon = now + max(entry[0].policy.largest_lead for entry in teams.values() if entry is not None)

    def corrupt(key: str) -> None:
        report.failures += 1

    for incident in rt.store.due(horizon, on_corrupt=corrupt):
        if rt.budget.usable_seconds() < CLAIM_SECONDS:
            logger.warning("out of time: the next run checks the incidents left", incident_id=incident.id)
            break
        report.checked += 1
        team = teams.get(incident.team)
        if team is None:
            if incident.team not in teams:
                _team_unavailable(report, incident.team, LookupError("not configured in this deployment"))
                teams[incident.team] = None
            report.failures += 1
            logger.error("skipped an incident of a team that cannot be served", incident_id=incident.id)
            continue
        view, people = team
        try:
            _check(view, incident, now, now + view.policy.largest_lead, people, report)
        except Exception:
            report.failures += 1
            logger.exception("SLA check failed for an incident", incident_id=incident.id)
    return report


def _team_unavailable(report: CheckReport, team_id: str, error: Exception) -> None:
    report.team_errors += 1
    logger.error("a team cannot be served: its incidents are skipped", team=team_id, error=str(error))


def _check(
    rt: Runtime, incident: Incident, now: datetime, horizon: datetime, people: _People, report: CheckReport
) -> None:
    """Claim what this incident is owed, announce it, then mark it sent (or give it back) in one more write."""
    claimed = _claim(rt, incident, now, horizon, report)
    if claimed is None:
        return
    saved, claims = claimed
    settled: list[ClaimedAction] = []
    unsent: list[ClaimedAction] = []
    failure: Exception | None = None
    for index, claim in enumerate(claims):
        if claim.taken_over and _superseded(saved, claim.action, now):
            settled.append(claim)
            continue
        try:
            notice = sla_messages.notice(saved, claim.action, people.escalation, now, zone=rt.zone)
            posted = _deliver(rt, notice.thread, look_first=claim.taken_over)
        except LeftPending as exc:
            unsent, failure = claims[index + 1 :], exc
            break
        except Exception as exc:
            unsent, failure = claims[index:], exc
            break
        settled.append(claim)
        if not posted:
            continue  # the outbox owns it now, durably: the thread gets it once, later
        _count(report, claim.action, now)
        if notice.direct_to and not claim.taken_over:
            _post_direct(rt, notice, saved, report)
    _settle(rt, saved, settled, unsent)
    if failure is not None:
        raise failure


class LeftPending(Exception):
    """A post whose outcome is unknown could not be handed to the outbox either. It may be in the thread, so
    it is neither given back (the next claim would post it blind) nor marked sent: it stays pending, and a
    run after the lease looks for it before posting."""


def _deliver(rt: Runtime, message: SlackMessage, *, look_first: bool) -> bool:
    """Post now, or hand to the outbox (then False: the outbox owns it), as `outbox.deliver` does, but a
    failed hand-over is told apart from a post that failed for sure."""
    try:
        post(rt.slack, message, look_first=look_first)
    except Deferred as deferred:
        try:
            hand_over(rt, message, deferred)
        except Exception as exc:
            raise LeftPending(f"{message.effect_id} could not be handed to the outbox ({deferred})") from exc
        return False
    return True


def _claim(
    rt: Runtime, incident: Incident, now: datetime, horizon: datetime, report: CheckReport
) -> tuple[Incident, list[ClaimedAction]] | None:
    """Mark the owed actions and their pending notices, and take over notices whose lease ran out, with one
    conditional save; a lost race re-reads and owes only what is left."""
    current: Incident | None = incident
    for _ in range(MAX_ATTEMPTS):
        if current is None:
            return None
        claimed_at = rt.clock().astimezone(UTC).replace(microsecond=0)  # as stored: seconds
        claims = _take_over(current, claimed_at)
        for action in rt.policy.due_actions(current, now):
            added = rt.policy.apply(current, action, now)
            pending = PendingNotice(action.sla, action.kind, action.due, action.lead, claimed_at)
            current.pending_notices.append(pending)
            claims.append(ClaimedAction(action, pending, added))
        if not claims:
            _refresh(rt, current, horizon, report)
            return None
        try:
            return rt.store.save(current), claims
        except ConditionFailed:
            current = rt.store.get(incident.channel_id, incident.thread_ts)
    raise ConflictError(f"{incident.id} kept changing while its SLA actions were claimed")


def _take_over(incident: Incident, claimed_at: datetime) -> list[ClaimedAction]:
    """Renew the lease of every pending notice whose run must be dead by now, and claim it for this run."""
    claims = []
    for index, notice in enumerate(incident.pending_notices):
        if notice.claimed_at + NOTICE_LEASE > claimed_at:
            continue
        renewed = replace(notice, claimed_at=claimed_at)
        incident.pending_notices[index] = renewed
        action = SlaAction(notice.kind, notice.sla, notice.due, notice.lead)
        leads = (notice.lead,) if notice.kind == "reminder" else ()
        claims.append(ClaimedAction(action, renewed, leads, taken_over=True))
    return claims


def _superseded(incident: Incident, action: SlaAction, now: datetime) -> bool:
    """A late reminder helps no one once its deadline is met or due (the breach, if any, is what is owed)."""
    deadline = incident.deadlines.get(action.sla)
    return action.kind == "reminder" and (deadline is None or not deadline.pending or now >= deadline.due)


def _settle(rt: Runtime, incident: Incident, settled: list[ClaimedAction], unsent: list[ClaimedAction]) -> None:
    """Clear the pending notices of this run's claims, giving back the marks of those not announced.

    The in-memory incident is what the claim saved, so this is one conditional write unless someone changed
    the incident meanwhile; then it is read again and re-applied. Only notices still as this run claimed them
    are touched: one whose lease ran out and was taken over belongs to the run that took it.
    """
    if not settled and not unsent:
        return
    done = {claim.pending for claim in (*settled, *unsent)}

    def settle(current: Incident) -> None:
        _give_back(current, [claim for claim in unsent if claim.pending in current.pending_notices])
        current.pending_notices = [notice for notice in current.pending_notices if notice not in done]

    settle(incident)
    try:
        rt.store.save(incident)
    except ConditionFailed:
        rt.store.mutate(incident.channel_id, incident.thread_ts, settle)


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
        rt.store.reindex(incident)
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


def _give_back(incident: Incident, claims: list[ClaimedAction]) -> None:
    """Undo the marks of claims that were not announced, so the next run owes them again. A pending breach
    notice means its claim set `breached_at`, so that mark and its timeline entry are this claim's."""
    for claim in claims:
        incident.unmark(claim.action.sla, claim.leads, breach=claim.action.kind == "breach")


def _count(report: CheckReport, action: SlaAction, now: datetime) -> None:
    """Lag is how long after the action fell due it was announced: the checker's own punctuality."""
    if action.kind == "breach":
        report.breaches += 1
        owed_since = action.due
    else:
        report.reminders += 1
        owed_since = action.due - timedelta(minutes=action.lead)
    report.lag_seconds.append((now - owed_since).total_seconds())
