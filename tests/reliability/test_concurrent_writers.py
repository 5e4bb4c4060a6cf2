"""Two writers at once on the same incident: the loser of the conditional write re-reads and re-applies,
so no update is lost and nothing is announced twice.

Each writer is a separate Runtime (two Lambda containers) on its own thread against the same emulated
table. A barrier holds both between their read and their conditional write, so every run really races.
The checker race is also run as Lambda runs it: two invocations of the real handler in separate processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from builders import WEDNESDAY_10_ET, alert, clock_of, posts_of, slack_event, stored

from prodsupport.core.settings import Settings
from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import Incident, Sla
from prodsupport.incident.store import IncidentStore
from prodsupport.runtime import Runtime
from prodsupport.sla import checker
from prodsupport_local.emulator.processes import Invoke, run_together
from prodsupport_local.emulator.stack import LocalStack

WRITERS = 2


class RacingStore(IncidentStore):
    """Holds each writer's first save until every writer has read: both then write the same version."""

    def __init__(self, base: IncidentStore, barrier: threading.Barrier) -> None:
        super().__init__(base.table, base.policy)
        self.barrier = barrier
        self.waited = threading.local()

    def save(self, incident: Incident, *, also: Sequence[Mapping[str, Any]] = ()) -> Incident:
        if not getattr(self.waited, "done", False):
            self.waited.done = True
            self.barrier.wait()
        return super().save(incident, also=also)


def racing_runtimes(stack: LocalStack) -> list[Runtime]:
    barrier = threading.Barrier(WRITERS, timeout=10)
    runtimes = []
    for _ in range(WRITERS):
        rt = Runtime(Settings.from_env(), stack.clock)
        rt.__dict__["store"] = RacingStore(rt.store, barrier)
        rt.slack.auth_test()  # build the client (and read the secret) before the threads start
        runtimes.append(rt)
    return runtimes


def in_parallel[R](work: list[Callable[[], R]]) -> list[R]:
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return [future.result() for future in [pool.submit(job) for job in work]]


def open_alert(stack: LocalStack, at_offset: timedelta = timedelta(0)) -> str:
    root = alert(WEDNESDAY_10_ET + at_offset)
    assert slack_event(stack, root, f"Ev0ALERT{int(at_offset.total_seconds())}").status == 200
    return str(root["ts"])


def test_two_writers_racing_on_one_incident_both_land(configured: LocalStack) -> None:
    # GIVEN an incident and two writers that both read version 2 before either writes
    thread_ts = open_alert(configured)
    before = stored(thread_ts).version
    first, second = racing_runtimes(configured)
    at = WEDNESDAY_10_ET + timedelta(minutes=1)

    def set_summary(rt: Runtime) -> Callable[[], Any]:
        def change(current: Incident) -> None:
            current.summary = "Kiosks fail at every clinic"
            current.note(at, "summary", "U0ONE", current.summary)

        return lambda: rt.store.mutate(rt.settings.channel_id, thread_ts, change)

    def set_impact(rt: Runtime) -> Callable[[], Any]:
        def change(current: Incident) -> None:
            current.business_impact = "Veterans wait at the front desk"
            current.note(at, "business_impact", "U0TWO", current.business_impact)

        return lambda: rt.store.mutate(rt.settings.channel_id, thread_ts, change)

    # WHEN both write at once
    in_parallel([set_summary(first), set_impact(second)])

    # THEN one lost the conditional write, re-read, re-applied: both changes and both notes are there
    incident = stored(thread_ts)
    assert (incident.summary, incident.business_impact) == (
        "Kiosks fail at every clinic",
        "Veterans wait at the front desk",
    )
    assert sorted(e.kind for e in incident.timeline if e.at == at) == ["business_impact", "summary"]
    assert incident.version == before + 2


def test_two_checker_runs_at_the_same_minute_post_each_breach_once(configured: LocalStack) -> None:
    # GIVEN three unacknowledged alerts whose 15-minute ack window has passed
    threads = [open_alert(configured, timedelta(seconds=offset)) for offset in (0, 10, 20)]
    now = WEDNESDAY_10_ET + timedelta(minutes=15, seconds=30)
    clock_of(configured).set(now)
    first, second = racing_runtimes(configured)

    # WHEN two runs of the checker for the same minute race on every incident
    reports = in_parallel([lambda: checker.run(first, now), lambda: checker.run(second, now)])

    # THEN each breach is claimed by one run, posted once, and on the timeline once
    assert sum(report.breaches for report in reports) == 3
    assert sum(report.failures for report in reports) == 0
    breached = sorted(call.args["thread_ts"] for call in posts_of(configured.slack, "sla_breached"))
    assert breached == sorted(threads)
    for thread_ts in threads:
        incident = stored(thread_ts)
        assert incident.deadlines[Sla.SLACK_ACK].breached_at == now
        assert [e.kind for e in incident.timeline].count("sla_breached") == 1


def test_two_checker_invocations_in_separate_processes_post_each_breach_once(configured: LocalStack) -> None:
    # GIVEN three unacknowledged alerts whose 15-minute ack window has passed
    threads = [open_alert(configured, timedelta(seconds=offset)) for offset in (0, 10, 20)]
    now = WEDNESDAY_10_ET + timedelta(minutes=15, seconds=30)
    run = Invoke("SlaCheckerFunction", {"time": to_iso(now), "job": "sla"}, now)

    # WHEN the scheduler's minute fires the checker twice, in two containers at once
    outcomes = run_together(configured, [run, run])

    # THEN both runs succeed, and each breach is posted once and on the timeline once
    assert [outcome.error for outcome in outcomes] == ["", ""]
    breached = sorted(call.args["thread_ts"] for call in posts_of(configured.slack, "sla_breached"))
    assert breached == sorted(threads)
    for thread_ts in threads:
        assert [e.kind for e in stored(thread_ts).timeline].count("sla_breached") == 1
