"""`make bench`: every benchmark in one run, each printing its figures, then one Markdown summary of them all.

    .venv/bin/python benchmarks/run.py [--quick]

In order: the layer's size (the arm64 layer `sam build` makes), cold init and the whole first response
(cold_init.py, on the layer built for this machine), requests per event (requests_per_event.py), peak memory
(memory.py), warm latency (warm_latency.py), the checker's scaling (checker_scaling.py, in its own process: it
writes 50,000 incidents into moto, about four minutes), and the mass outage with the notice lag
(mass_outage.py: 200 alerts at Slack's real pace, about eight minutes). `--quick` runs fewer samples, events
and incidents for a check in a few minutes; the figures in docs/performance.md come from a run without it. Goals met
or missed are reported in the output (GOAL lines, and the summary's list); the exit status is 0 whenever
every benchmark ran, since a benchmark reports rather than gates.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cold_init
import mass_outage
import memory
import requests_per_event
import warm_latency
from probes import build_layer, unzipped_bytes
from traffic import FUNCTIONS, REPRESENTATIVE

SCALING = Path(__file__).with_name("checker_scaling.py")
SHORT = {
    "SlackEventsFunction": "slack_events",
    "PagerDutyWebhookFunction": "pagerduty_webhook",
    "SlaCheckerFunction": "sla_checker",
    "EmailSenderFunction": "email_sender",
}
SCALING_ROW = re.compile(
    r"^\s*(run time, ms|DynamoDB requests|waiting on moto, ms|the rest \(checker, Slack\), ms)"
    r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$"
)
CHECKER_OWN_TIME = "the rest (checker, Slack), ms"
LAYER_GOAL_BYTES = 12_000_000


def section(title: str) -> None:
    print(f"\n== {title} ", "=" * max(0, 100 - len(title)), sep="", flush=True)


def run_scaling(quick: bool) -> tuple[list[str], dict[str, tuple[float, float, float]], int]:
    """checker_scaling.py's output lines, its two rows (0 resolved, N resolved, ratio), and N."""
    resolved = 5_000 if quick else 50_000
    args = ["--resolved", str(resolved)] + (["--repeat", "3"] if quick else [])
    done = subprocess.run(
        [sys.executable, str(SCALING), *args], capture_output=True, text=True, check=True, timeout=1800
    )
    lines = [line for line in done.stdout.splitlines() if not line.startswith("{")]  # the functions' JSON logs
    rows = {m[1]: (float(m[2]), float(m[3]), float(m[4])) for line in lines if (m := SCALING_ROW.match(line))}
    return lines, rows, resolved


def response_cell(samples: cold_init.Samples, function: str) -> str:
    goal = cold_init.RESPONSE_GOALS.get(function)
    return f"**{samples.response_ratio:.2f}x** (≤ {goal}x)" if goal else "n/a"


def measure_layer() -> tuple[int, bool]:
    """The arm64 layer's unzipped bytes, printed with its goal."""
    layer_bytes = unzipped_bytes(build_layer("aarch64"))
    met = layer_bytes < LAYER_GOAL_BYTES
    print(f"arm64 layer as sam build makes it, unzipped: {layer_bytes:,} bytes")
    print(f"GOAL {'met' if met else 'MISSED'}: layer {layer_bytes / 1e6:.1f} MB unzipped (goal < 12 MB)")
    return layer_bytes, met


def cold_goals(cold: dict[str, cold_init.Samples]) -> list[tuple[str, bool]]:
    goals = [(f"{SHORT[f]} cold init <= {cold_init.GOALS[f]}x", cold[f].ratio <= cold_init.GOALS[f]) for f in FUNCTIONS]
    goals.extend(
        (
            f"{SHORT[f]} whole first response <= {goal}x its floor ({cold[f].response_ratio:.2f}x)",
            cold[f].response_ratio <= goal,
        )
        for f, goal in cold_init.RESPONSE_GOALS.items()
    )
    return goals


def function_table(
    cold: dict[str, cold_init.Samples],
    latency: dict[str, Any],
    peaks: dict[str, Any],
    baseline_mb: float,
    *,
    samples: int,
    events: int,
) -> None:
    """The summary's table with one column per function."""
    print("| | " + " | ".join(f"`{SHORT[f]}`" for f in FUNCTIONS) + " |")
    print("|---|" + "---:|" * len(FUNCTIONS))

    def row(label: str, cells: list[str]) -> None:
        print(f"| {label} | " + " | ".join(cells) + " |")

    row(f"cold init, ms (median of {samples})", [f"{statistics.median(cold[f].init_ms):.0f}" for f in FUNCTIONS])
    row(
        "baseline `import boto3; boto3.client('dynamodb')`, ms",
        [f"{statistics.median(cold[f].baseline_ms):.0f}" for f in FUNCTIONS],
    )
    row(
        "**cold init / baseline** (goal)",
        [f"**{cold[f].ratio:.2f}x** (≤ {cold_init.GOALS[f]}x)" for f in FUNCTIONS],
    )
    row("library floor / baseline", [f"{cold[f].floor_ratio:.2f}x" for f in FUNCTIONS])
    row("whole first response / (baseline + PutItem + POST) (goal)", [response_cell(cold[f], f) for f in FUNCTIONS])
    row(
        "prodsupport's own share: init - floor, ms",
        [f"{statistics.median(cold[f].init_ms) - statistics.median(cold[f].floor_ms):.0f}" for f in FUNCTIONS],
    )
    row(
        "first event after the cold init, ms",
        [f"{statistics.median(cold[f].first_event_ms):.0f}" for f in FUNCTIONS],
    )
    row(
        f"warm p50 / p99, ms ({events} events)",
        [f"{latency[f].p50_ms:.1f} / {latency[f].p99_ms:.1f}" for f in FUNCTIONS],
    )
    row("… of which kind", [REPRESENTATIVE[f].kind for f in FUNCTIONS])
    row(f"peak RSS after a warm run, MB (baseline {baseline_mb:.0f})", [f"{peaks[f][0]:.0f}" for f in FUNCTIONS])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer samples, events and incidents")
    args = parser.parse_args()
    samples, events, rounds = (7, 200, 2) if args.quick else (11, 1000, 5)
    outage_incidents, lag_incidents = (20, 5) if args.quick else (200, 30)
    started = time.monotonic()

    section("0. layer")
    layer_bytes, layer_met = measure_layer()

    section("1. cold init")
    cold = cold_init.measure(samples, build_layer())
    cold_init.report(cold, samples)

    section("2. requests per event")
    requests, request_goals = requests_per_event.run()
    requests_per_event.report(requests, request_goals)

    section("5. peak memory")
    baseline_mb, peaks = memory.measure(rounds)
    memory.report(baseline_mb, peaks)

    section("4. warm latency")
    latency = warm_latency.measure(events)
    warm_latency.report(latency)

    section("3. checker scaling")
    scaling_lines, scaling, resolved = run_scaling(args.quick)
    print("\n".join(scaling_lines))

    section("6. mass outage and notice lag")
    outage = mass_outage.mass_outage(outage_incidents, burst=5)
    outage_goals = mass_outage.report_outage(outage, outage_incidents, burst=5)
    lag = mass_outage.notice_lag(lag_incidents)
    mass_outage.report_lag(lag)

    goals = [(f"layer < 12 MB unzipped ({layer_bytes / 1e6:.1f} MB)", layer_met), *cold_goals(cold)]
    goals.extend(request_goals)
    # moto answers a GSI query by walking the whole table, which DynamoDB does not: the time goal is judged on
    # the checker's own time, and the total (with moto's wait) is in the table beside it.
    goals.extend(
        (f"checker scaling, {name} ratio <= 1.2", scaling[name][2] <= 1.2)
        for name in ("DynamoDB requests", CHECKER_OWN_TIME)
    )
    goals.extend(outage_goals)

    section("summary (Markdown)")
    command = "make bench" + (" (.venv/bin/python benchmarks/run.py --quick)" if args.quick else "")
    print(f"From one run of `{command}`, {time.monotonic() - started:.0f} s.\n")
    function_table(cold, latency, peaks, baseline_mb, samples=samples, events=events)
    print("\n| inbound event (warm) | requests | AWS and Slack calls |\n|---|---:|---|")
    for kind, counted in requests.items():
        print(f"| {kind} | {counted.total} | {counted.describe()} |")

    print(f"\n| SLA checker run, 30 open incidents owed something | 0 resolved | {resolved:,} resolved | ratio |")
    print("|---|---:|---:|---:|")
    for name, (empty, full, ratio) in scaling.items():
        goal = " (goal ≤ 1.2)" if name in ("DynamoDB requests", CHECKER_OWN_TIME) else ""
        print(f"| {name} | {empty:.1f} | {full:.1f} | {ratio:.2f}{goal} |")

    mass_outage.markdown(outage, lag, outage_incidents)
    print()
    for goal, met in goals:
        print(f"- {'met' if met else '**missed**'}: {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
