"""Warm latency of each handler on the embedded stack: p50 and p99 over `--events` events of one kind.

The kind is each function's representative one (traffic.REPRESENTATIVE): a thread reply that acks for
the Slack function, an incident.triggered webhook for PagerDuty, an every-minute tick with nothing due for
the checker, and one email (an SQS batch of one record) for the email sender. What each event needs (the
alert being replied to, the queued email request) is made on the stack first; then the handler runs in a
process of its own, as in a Lambda container (probes.py), and times each invocation from inside: what
Lambda bills and what Slack or PagerDuty wait for, minus API Gateway.

The events go in chunks of 50, each to a fresh process on a fresh deployment after 10 unmeasured warm-up
events, because moto deep-copies a whole table for every transaction (a declaration is one), which real
DynamoDB does not: on one ever-growing table the figures would measure the emulator. For the same reason
the emulator's process does not collect garbage while a chunk runs (those copies are cyclic garbage whose
collection would stall moto's answers). The requests still go over loopback to moto and the recording
Slack API, whose work is inside the figures: they bound the code's own time and say nothing about
DynamoDB's or Slack's real latency.

    .venv/bin/python benchmarks/warm_latency.py [--events 1000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from dataclasses import dataclass

from probes import Prober
from traffic import FUNCTIONS, REPRESENTATIVE, SETTINGS, START, functions_quiet

from prodsupport_local.emulator.stack import LocalStack, VirtualClock

WARM_UP = 10
CHUNK = 50


@dataclass(frozen=True)
class Latency:
    kind: str
    p50_ms: float
    p99_ms: float
    events: int


def percentile(samples: list[float], pct: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def measure_function(stack: LocalStack, function: str, events: int) -> list[float]:
    recipe = REPRESENTATIVE[function]
    samples: list[float] = []
    while len(samples) < events:
        stack.reset(SETTINGS)
        prober = Prober(stack)
        prepared = prober.prepare((recipe,) * (WARM_UP + min(CHUNK, events - len(samples))))
        gc.collect()
        gc.disable()
        try:
            samples.extend(prober.run(function, prepared)["event_ms"][WARM_UP:])
        finally:
            gc.enable()
    return samples


def measure(events: int) -> dict[str, Latency]:
    results: dict[str, Latency] = {}
    with functions_quiet(), LocalStack(clock=VirtualClock(START), settings=SETTINGS) as stack:
        for function in FUNCTIONS:
            samples = measure_function(stack, function, events)
            kind = REPRESENTATIVE[function].kind
            results[function] = Latency(kind, percentile(samples, 50), percentile(samples, 99), len(samples))
    return results


def report(results: dict[str, Latency]) -> None:
    events = next(iter(results.values())).events
    print(f"warm latency of the handler call, {events} events each (in chunks of {CHUNK}, see the docstring), ms")
    print(f"  {'function':26}{'p50':>7}{'p99':>7}  kind")
    for function, latency in results.items():
        print(f"  {function:26}{latency.p50_ms:7.1f}{latency.p99_ms:7.1f}  {latency.kind}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1000, help="measured events per function")
    args = parser.parse_args()
    report(measure(args.events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
