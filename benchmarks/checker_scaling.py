"""Does one SLA checker run cost the same with 50,000 resolved incidents in the table as with none?

The checker reads only the sparse "due" index, so the number of DynamoDB requests of a run should depend
on the open deadlines alone. This runs the same run (the same open incidents, owed the same reminders and
breaches) against the local stack twice: once with an empty history, once after 50,000 resolved incidents
were written straight into moto with BatchWriteItem. It prints the ratio of the run times and of the
DynamoDB request counts (counted with botocore's `before-call` hook on the checker's own client); the goal
for the requests and for the checker's own time (the run time less the wait on moto) is at most 1.2.

moto answers a query on a GSI by walking every item of the table, which real DynamoDB does not, so the time
spent waiting on the emulator is also printed apart from the checker's own time.

With `--teams N` the deployment has N teams besides the default one (each in its own channel and zone), and the
open and resolved incidents are spread over all of them: the run still makes one query of the due index, and
the figures should not move.

    .venv/bin/python benchmarks/checker_scaling.py [--resolved 50000] [--open 30] [--repeat 5] [--teams 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from traffic import alert_incident

from prodsupport import runtime
from prodsupport.incident.model import Incident, Sla, Status
from prodsupport.incident.store import INCIDENT, thread_pk
from prodsupport.infra.dynamo import serialize
from prodsupport.runtime import Runtime
from prodsupport.sla import checker
from prodsupport_local.emulator.stack import LocalStack, VirtualClock

ET = ZoneInfo("America/New_York")
FIRST_RUN = datetime(2026, 5, 13, 10, 30, tzinfo=ET).astimezone(UTC)  # a Wednesday in business hours
BATCH = 25
_sequence = count(1)


@dataclass
class Measure:
    seconds: float = 0.0
    dynamo_seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    posted: int = 0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


@contextmanager
def counting(client: Any, measure: Measure) -> Iterator[None]:
    """Count and time every DynamoDB call the checker's client makes, and only while the run lasts."""
    started: list[float] = []

    def before(event_name: str, **_: Any) -> None:
        measure.requests[event_name.rsplit(".", 1)[-1]] += 1
        started.append(time.perf_counter())

    def after(**_: Any) -> None:
        measure.dynamo_seconds += time.perf_counter() - started.pop()

    client.meta.events.register("before-call.dynamodb.*", before, unique_id="bench-before")
    client.meta.events.register("after-call.dynamodb.*", after, unique_id="bench-after")
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", unique_id="bench-before")
        client.meta.events.unregister("after-call.dynamodb.*", unique_id="bench-after")


def alert(rt: Runtime, opened_at: datetime) -> Incident:
    sequence = next(_sequence)
    return alert_incident(rt, sequence, opened_at, f"Benchmark alert {sequence}")


def seed_open(views: list[Runtime], now: datetime, how_many: int) -> None:
    """Half owed a breach at `now` (opened 15 min before), half owed the 5-minute reminder (10 min before),
    spread over the teams."""
    for index in range(how_many):
        rt = views[index % len(views)]
        rt.store.create(alert(rt, now - timedelta(minutes=15 if index % 2 == 0 else 10)))


def team_settings(how_many: int) -> list[dict[str, Any]]:
    """Teams in their own channels, half of them in Los Angeles (the same hours, 3 hours later)."""
    return [
        {
            "id": f"team-{n:02d}",
            "id_prefix": "T" + chr(ord("A") + n // 26) + chr(ord("A") + n % 26),
            "channel_id": f"C0TEAM{n:02d}",
            "timezone": "America/Los_Angeles" if n % 2 else "America/New_York",
        }
        for n in range(how_many)
    ]


def resolved_item(rt: Runtime, opened_at: datetime) -> dict[str, Any]:
    """A closed incident as the store keeps it: acknowledged, resolved, no pending deadline, so no index key."""
    incident = alert(rt, opened_at)
    incident.meet(Sla.SLACK_ACK, opened_at + timedelta(minutes=4))
    incident.note(opened_at + timedelta(minutes=4), "acknowledged", "UONCALL", "Looking at it now.")
    incident.status = Status.RESOLVED
    incident.ended_at = opened_at + timedelta(hours=2)
    incident.resolution = "Rolled back the release."
    incident.note(incident.ended_at, "resolved", "UONCALL", incident.resolution)
    incident.version = 4
    return {
        "pk": thread_pk(incident.channel_id, incident.thread_ts),
        "sk": INCIDENT,
        **incident.to_record(),
        "opened_month": incident.opened_at.strftime("%Y-%m"),
    }


def write_history(stack: LocalStack, views: list[Runtime], how_many: int) -> None:
    client = stack.aws.client("dynamodb")
    rt = views[0]
    start = datetime(2021, 1, 4, 14, tzinfo=UTC)
    batch: list[dict[str, Any]] = []
    for index in range(how_many):
        item = resolved_item(views[index % len(views)], start + timedelta(hours=index))
        batch.append({"PutRequest": {"Item": serialize(item)}})
        if len(batch) == BATCH or index == how_many - 1:
            pending = {rt.settings.table_name: batch}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            batch = []


def one_run(stack: LocalStack, now: datetime) -> Measure:
    """Measure one checker run at `now`, then let its incidents settle off the index."""
    rt = runtime.current()
    posts_before = len(stack.slack.posts())
    measure = Measure()
    with counting(rt.table.client, measure):
        started = time.perf_counter()
        report = checker.run(rt, now)
        measure.seconds = time.perf_counter() - started
    if report.failures:
        raise SystemExit(f"the checker failed on {report.failures} incidents at {now}")
    measure.posted = len(stack.slack.posts()) - posts_before
    checker.run(rt, now + timedelta(hours=1))  # breaches the reminded ones: the index is empty again
    return measure


def median(measures: list[Measure], attribute: str) -> float:
    return statistics.median(float(getattr(m, attribute)) for m in measures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--resolved", type=int, default=50_000, help="resolved incidents in the history")
    parser.add_argument("--open", type=int, default=30, help="open incidents owed something in each run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per configuration (the median is used)")
    parser.add_argument("--teams", type=int, default=0, help="teams besides the default one (at most 676)")
    args = parser.parse_args()

    settings: dict[str, Any] = {"oncall_user_id": "UONCALL", "pm_user_id": "UPM"}
    if args.teams:
        settings["teams"] = team_settings(args.teams)
    warm_up = FIRST_RUN - timedelta(weeks=1)
    empty_runs = [FIRST_RUN + timedelta(weeks=n) for n in range(args.repeat)]
    full_runs = [FIRST_RUN + timedelta(weeks=args.repeat + n) for n in range(args.repeat)]
    with LocalStack(clock=VirtualClock(FIRST_RUN), settings=settings) as stack:
        rt = runtime.current()
        views = [rt, *(rt.for_team(team.id) for team in rt.settings.teams)]
        # Every run's open incidents are created first, a week apart, so the runs with history do not pay
        # for moto's transactions (the store creates an incident in one), which copy the whole table.
        for now in (warm_up, *empty_runs, *full_runs):
            seed_open(views, now, args.open)
        one_run(stack, warm_up)  # imports, clients, the Slack path
        empty = [one_run(stack, now) for now in empty_runs]
        started = time.perf_counter()
        write_history(stack, views, args.resolved)
        print(f"wrote {args.resolved:,} resolved incidents in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        full = [one_run(stack, now) for now in full_runs]

    own_empty = 1000 * (median(empty, "seconds") - median(empty, "dynamo_seconds"))
    own_full = 1000 * (median(full, "seconds") - median(full, "dynamo_seconds"))
    rows = [
        ("run time, ms", 1000 * median(empty, "seconds"), 1000 * median(full, "seconds")),
        ("DynamoDB requests", median(empty, "total_requests"), median(full, "total_requests")),
        ("  waiting on moto, ms", 1000 * median(empty, "dynamo_seconds"), 1000 * median(full, "dynamo_seconds")),
        ("  the rest (checker, Slack), ms", own_empty, own_full),
        ("Slack posts", median(empty, "posted"), median(full, "posted")),
    ]
    teams = f", {args.teams + 1} teams" if args.teams else ""
    print(f"one SLA checker run, {args.open} open incidents owed something{teams}, median of {args.repeat} runs")
    print(f"{'':28}{'0 resolved':>14}{f'{args.resolved:,} resolved':>18}{'ratio':>8}")
    for label, a, b in rows:
        print(f"{label:28}{a:14.1f}{b:18.1f}{b / a if a else float('nan'):8.2f}")
    print(f"requests by operation, 0 resolved: {dict(empty[0].requests)}")
    print(f"requests by operation, {args.resolved:,} resolved: {dict(full[0].requests)}")
    request_ratio = median(full, "total_requests") / median(empty, "total_requests")
    run_ratio = median(full, "seconds") / median(empty, "seconds")
    own_ratio = own_full / own_empty
    print(f"RESULT own time ratio {own_ratio:.2f}, DynamoDB request ratio {request_ratio:.2f} (goal: both <= 1.2)")
    print(f"run time ratio {run_ratio:.2f}, with the wait on moto, which walks every item to answer an index query")
    return 0


if __name__ == "__main__":
    sys.exit(main())
