"""A mass outage, and the lag of SLA notices under the one-minute schedule.

Mass outage: `--incidents` (200) alerts open within one minute (a platform-wide failure), all in the one channel,
so their 5-minute ack reminders fall due within one minute and their ack breaches five minutes later. The
recording Slack API enforces Slack's per-channel limit on chat.postMessage (one a second after a burst of
`--burst`, beyond it a 429 with Retry-After), which the functions' slack_sdk RateLimitErrorRetryHandler waits
out within their time budget. The scheduler is played minute by minute as EventBridge Scheduler fires it:
each SLA checker run in a process of its own, killed at its Lambda Timeout (template.yaml), then the Slack
outbox queue drained (what the checker could not post in time), until every notice is in Slack. A run's business
time is its minute; a post's is its run's minute plus the wall seconds since that run was released (the pace of
the real Slack is real time). Reported: runs, the longest run against the schedule's interval and the Timeout,
thread posts per notice (exactly one each), 429s, and the lag from due to posted, the last notice's included.

Notice lag: `--lag-incidents` (30) alerts open one a minute at scattered seconds (no two notices compete for
the channel), and the same schedule runs: the distribution of (posted - due) for reminders and breaches is
what a user of a quiet channel sees.

    .venv/bin/python benchmarks/mass_outage.py [--incidents 200] [--burst 5] [--lag-incidents 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from traffic import alert_incident, functions_quiet

from prodsupport import runtime
from prodsupport.core.timefmt import parse_iso, to_iso
from prodsupport.runtime import Runtime
from prodsupport_local.emulator import processes
from prodsupport_local.emulator.stack import LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import SlackCall

ET = ZoneInfo("America/New_York")
OPENED = datetime(2026, 5, 13, 10, 0, tzinfo=ET).astimezone(UTC)  # a Wednesday in business hours
CHECKER = "SlaCheckerFunction"
INTERVAL_SECONDS = 60.0  # rate(1 minute)
SETTINGS = {"oncall_user_id": "UONCALL", "pm_user_id": "UPM"}
NOTICES = ("sla_reminder", "sla_breached")
MAX_MINUTES = 40


@dataclass
class Notice:
    """One thread post of a reminder or breach, with its due time and its business time of posting."""

    effect_id: str
    kind: str
    due: datetime
    posted: datetime


@dataclass
class Outage:
    runs: list[float] = field(default_factory=list)  # each checker run's wall seconds
    killed: int = 0
    notices: list[Notice] = field(default_factory=list)
    duplicates: int = 0
    missing: int = 0
    refused: int = 0
    outbox_deliveries: int = 0
    direct_messages: int = 0
    timeout: float = 0.0

    def lags(self, kind: str) -> list[float]:
        return sorted((n.posted - n.due).total_seconds() for n in self.notices if n.kind == kind)


def open_alerts(rt: Runtime, opened: list[datetime]) -> None:
    for sequence, at in enumerate(opened, start=1):
        rt.store.create(alert_incident(rt, sequence, at, f"Platform outage alert {sequence}"))


def _ack_notice(call: SlackCall, channel: str) -> tuple[str, str, datetime] | None:
    """(effect id, kind, when it fell due) of a thread post of an ack reminder or breach; None for anything else.

    The effect id is `<incident>/<kind>/<sla>/<deadline>[/<lead minutes>]`: a breach falls due at the deadline,
    a reminder `lead` minutes before it."""
    metadata = call.args.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    effect = str(payload.get("effect_id") or "")
    if call.args.get("channel") != channel or metadata.get("event_type") not in NOTICES or "/slack_ack/" not in effect:
        return None
    _, kind, _, deadline, *lead = effect.split("/")
    return effect, kind, parse_iso(deadline) - timedelta(minutes=int(lead[0]) if lead else 0)


def play(stack: LocalStack, clock: VirtualClock, first: datetime, expected: int) -> Outage:
    """Fire the checker every minute from `first` until `expected` ack notices are posted (or MAX_MINUTES)."""
    outage = Outage()
    channel = runtime.current().settings.channel_id
    seen: Counter[str] = Counter()
    minute = first
    for _ in range(MAX_MINUTES):
        clock.set(minute)
        calls_before = len(stack.slack.calls)
        invoke = processes.Invoke(CHECKER, {"time": to_iso(minute), "job": "sla"}, minute)
        with processes.start(stack, [invoke]) as running:
            [outcome] = running.outcomes()
            released = running.released_at
        outage.runs.append(outcome.elapsed_seconds)
        outage.killed += outcome.killed
        if outcome.error:
            raise SystemExit(f"the checker run at {to_iso(minute)} failed:\n{outcome.error}")
        outage.outbox_deliveries += stack.drain()
        for call in stack.slack.calls[calls_before:]:
            if call.method != "chat.postMessage" or not call.ok:
                continue
            found = _ack_notice(call, channel)
            if found is None:
                outage.direct_messages += str(call.args.get("channel", "")).startswith("D")
                continue
            effect, kind, due = found
            seen[effect] += 1
            posted = minute + timedelta(seconds=call.received_at - released)
            outage.notices.append(Notice(effect, kind, due, posted))
        if len(seen) >= expected:
            break
        minute += timedelta(minutes=1)
    outage.duplicates = sum(count - 1 for count in seen.values())
    outage.missing = expected - len(seen)
    outage.notices = [n for n in outage.notices if seen[n.effect_id] >= 1]
    return outage


def mass_outage(incidents: int, burst: int) -> Outage:
    clock = VirtualClock(OPENED)
    with functions_quiet(), LocalStack(clock=clock, settings=SETTINGS) as stack:
        limit = stack.slack.limit_posts_per_channel(per_second=1.0, burst=burst)
        # Opened over one minute: every deadline of the outage falls due within the same minute.
        open_alerts(runtime.current(), [OPENED + timedelta(seconds=60 * i / incidents) for i in range(incidents)])
        outage = play(stack, clock, OPENED + timedelta(minutes=10), expected=2 * incidents)
        outage.refused = limit.refused
        outage.timeout = float(stack.lambdas.functions[CHECKER].timeout or processes.DEFAULT_FUNCTION_TIMEOUT_SECONDS)
    return outage


def notice_lag(incidents: int) -> Outage:
    clock = VirtualClock(OPENED)
    with functions_quiet(), LocalStack(clock=clock, settings=SETTINGS) as stack:
        stack.slack.limit_posts_per_channel(per_second=1.0, burst=5)
        # One a minute, at seconds scattered over the minute (37 is prime to 60): no two notices compete.
        opened = [OPENED + timedelta(minutes=i, seconds=(37 * i) % 60) for i in range(incidents)]
        open_alerts(runtime.current(), opened)
        return play(stack, clock, OPENED + timedelta(minutes=10), expected=2 * incidents)


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def describe(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"min {values[0]:.1f} s, p50 {statistics.median(values):.1f} s, p90 {percentile(values, 0.9):.1f} s, "
        f"max {values[-1]:.1f} s (n={len(values)})"
    )


def report_outage(outage: Outage, incidents: int, burst: int) -> list[tuple[str, bool]]:
    last = max(outage.notices, key=lambda n: n.posted - n.due) if outage.notices else None
    longest = max(outage.runs, default=0.0)
    timeout = outage.timeout
    print(
        f"mass outage: {incidents} alerts opened within one minute, one channel, "
        f"Slack 1 post/s per channel, burst {burst}"
    )
    print(
        f"  checker runs: {len(outage.runs)}, longest {longest:.1f} s "
        f"(interval {INTERVAL_SECONDS:.0f} s, Timeout {timeout:.0f} s), killed {outage.killed}"
    )
    print(f"  run times, s: {', '.join(f'{r:.1f}' for r in outage.runs)}")
    print(
        f"  thread posts: {len(outage.notices)} for {2 * incidents} notices; "
        f"duplicates {outage.duplicates}, missing {outage.missing}"
    )
    print(
        f"  429s answered by the Slack API: {outage.refused}; outbox deliveries: {outage.outbox_deliveries}; "
        f"direct messages: {outage.direct_messages}"
    )
    print(f"  reminders, posted - due: {describe(outage.lags('reminder'))}")
    print(f"  breaches,  posted - due: {describe(outage.lags('breach'))}")
    if last is not None:
        print(
            f"  last notice: {last.kind} {last.effect_id}, {(last.posted - last.due).total_seconds():.0f} s after due"
        )
    within = longest <= min(INTERVAL_SECONDS, timeout) and outage.killed == 0
    once = outage.duplicates == 0 and outage.missing == 0
    goals = [
        (f"mass outage ({incidents}): every checker run within its interval and Timeout", within),
        (f"mass outage ({incidents}): each reminder and breach posted exactly once", once),
    ]
    for goal, met in goals:
        print(f"GOAL {'met' if met else 'MISSED'}: {goal}")
    return goals


def markdown(outage: Outage, lag: Outage, incidents: int) -> None:
    """The summary table of docs/performance.md for both runs."""
    rows = [
        ("checker runs until every notice was posted", f"{len(outage.runs)}"),
        (f"longest run, s (interval 60, Timeout {outage.timeout:.0f})", f"{max(outage.runs, default=0):.1f}"),
        ("thread posts / notices / duplicates", f"{len(outage.notices)} / {2 * incidents} / {outage.duplicates}"),
        ("429s from the Slack API / outbox deliveries", f"{outage.refused} / {outage.outbox_deliveries}"),
        ("reminders, posted - due", describe(outage.lags("reminder"))),
        ("breaches, posted - due", describe(outage.lags("breach"))),
        ("notice lag, quiet channel: reminders", describe(lag.lags("reminder"))),
        ("notice lag, quiet channel: breaches", describe(lag.lags("breach"))),
    ]
    print(f"\n| mass outage: {incidents} alerts opened in one minute, one channel | |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


def report_lag(lag: Outage) -> None:
    print(f"notice lag under the one-minute schedule ({len(lag.notices)} notices, one a minute, quiet channel)")
    print(f"  reminders, posted - due: {describe(lag.lags('reminder'))}")
    print(f"  breaches,  posted - due: {describe(lag.lags('breach'))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, default=200, help="alerts opened in the same minute")
    parser.add_argument("--burst", type=int, default=5, help="posts Slack lets through at once per channel")
    parser.add_argument("--lag-incidents", type=int, default=30, help="alerts for the notice-lag run")
    args = parser.parse_args()
    started = time.monotonic()
    report_outage(mass_outage(args.incidents, args.burst), args.incidents, args.burst)
    report_lag(notice_lag(args.lag_incidents))
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
