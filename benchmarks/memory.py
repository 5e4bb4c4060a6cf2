"""Peak memory (RSS) of each function after a warm run, in a fresh interpreter of its own.

The probe (cold_start_probe.py) starts cold with the function's environment, then handles `--rounds`
rounds of every kind of event the function handles here (traffic.WARM_RUN: for the Slack function an
alert, a reply that acks, a later reply, an ignored message and three slash commands, among them the
stakeholder email request that renders the Jinja2 templates), and reports `resource.getrusage` ru_maxrss:
its peak resident set size. The baseline is the same figure for `import boto3; boto3.client("dynamodb")`.
The functions are configured with 512 MB (template.yaml, Globals).

    .venv/bin/python benchmarks/memory.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys

from probes import Prober
from traffic import FUNCTIONS, SETTINGS, START, WARM_RUN, functions_quiet

from prodsupport_local.emulator.stack import LocalStack, VirtualClock

LAMBDA_MEMORY_MB = 512


def measure(rounds: int) -> tuple[float, dict[str, tuple[float, int]]]:
    """Baseline MB, and per function (peak MB, events handled)."""
    peaks: dict[str, tuple[float, int]] = {}
    with functions_quiet(), LocalStack(clock=VirtualClock(START), settings=SETTINGS) as stack:
        prober = Prober(stack)
        baseline = prober.baseline()["max_rss_kb"] / 1024
        for function in FUNCTIONS:
            recipes = WARM_RUN[function] * rounds
            peaks[function] = (prober.run(function, prober.prepare(recipes))["max_rss_kb"] / 1024, len(recipes))
    return baseline, peaks


def report(baseline: float, peaks: dict[str, tuple[float, int]]) -> None:
    print(f"peak RSS after a warm run (ru_maxrss of a fresh interpreter), MB; Lambda memory {LAMBDA_MEMORY_MB} MB")
    print(f"  {'baseline: boto3 + DynamoDB client':34}{baseline:6.1f}")
    for function, (peak, events) in peaks.items():
        print(f"  {function:34}{peak:6.1f}  after {events} events")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the function's event kinds")
    args = parser.parse_args()
    report(*measure(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
