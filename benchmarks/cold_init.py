"""Cold start of each function against the floor every Python Lambda on boto3 pays.

Each sample is a fresh interpreter (cold_start_probe.py) with the function's environment as the local
stack gives it: the PRODSUPPORT_* settings, AWS_ENDPOINT_URL at the moto server this benchmark starts,
fake credentials, and the layer on PYTHONPATH as /opt/python is in Lambda. It times, from inside:

- init: load the handler module from its CodeUri, as the Lambda runtime does, and build the clients its
  first event needs, with the runtime's own constructors and no request: `runtime.current()` (settings
  from the environment), `rt.table` (the DynamoDB client and its table adapter), `rt._secrets` (Powertools'
  Secrets Manager provider on the runtime's client), `rt.client("sesv2")` for the email sender only, and
  the Slack WebClient from `slack_api.make_client` with a stand-in token (the real one is in the Slack
  secret, and reading it is a request). Every function builds the table and the secrets provider; all but
  the PagerDuty function build the WebClient at init too: its handler loads slack_sdk only with the first
  post (a delivery that is ignored, a duplicate or badly signed posts nothing), so its first event pays it.
- first event: then one representative event (traffic.REPRESENTATIVE), which pays for whatever the
  init left to the first request: the lazily imported modules, the secret reads, the requests themselves.

The baseline is a fresh interpreter doing `import boto3; boto3.client("dynamodb")`, timed the same way.
The whole first response (issue 18) is init + first event against the floor of a response: the baseline
plus one DynamoDB PutItem and one HTTP POST, which any function that writes once and answers once pays.
The floor is a fresh interpreter building the same third-party objects as the init (Powertools' Logger and
resolver, metrics or batch processor, the boto3 clients, the secrets provider, a WebClient) without any
prodsupport code: the least any implementation on these libraries can pay, so init - floor is this
project's own share. Samples interleave baseline, floor and function; after one unmeasured warm-up of each
(so .pyc files exist), the medians of `--samples` (at least 7) are compared. Interpreter start-up itself
(the same for all, about 15 ms) is outside every timing.

By default the layer is the one `sam build` makes (layers/common/Makefile, for this machine's architecture:
pruned, with its bytecode) and the probes write no bytecode, as on Lambda's read-only /opt;
`--layer source` times the source tree instead (with the __pycache__ the warm-up leaves).

    .venv/bin/python benchmarks/cold_init.py [--samples 11] [--layer built|source]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from probes import Prober, build_layer
from traffic import (
    CHECKER,
    EMAIL_SENDER,
    FUNCTIONS,
    PAGERDUTY,
    REPRESENTATIVE,
    SETTINGS,
    SLACK_EVENTS,
    START,
    functions_quiet,
)

from prodsupport_local.emulator.stack import LocalStack, VirtualClock

GOALS = {SLACK_EVENTS: 1.5, PAGERDUTY: 1.3, CHECKER: 1.6, EMAIL_SENDER: 1.6}
# (init + first event) / (baseline + one PutItem + one POST): issue 18's whole first response.
RESPONSE_GOALS = {SLACK_EVENTS: 1.5, PAGERDUTY: 1.5}


@dataclass
class Samples:
    baseline_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    init_ms: list[float] = field(default_factory=list)
    first_event_ms: list[float] = field(default_factory=list)
    floor_response_ms: list[float] = field(default_factory=list)
    response_ms: list[float] = field(default_factory=list)

    @property
    def response_ratio(self) -> float:
        return statistics.median(self.response_ms) / statistics.median(self.floor_response_ms)

    @property
    def ratio(self) -> float:
        return statistics.median(self.init_ms) / statistics.median(self.baseline_ms)

    @property
    def floor_ratio(self) -> float:
        return statistics.median(self.floor_ms) / statistics.median(self.baseline_ms)


def measure(samples: int, layer: Path | None = None) -> dict[str, Samples]:
    """For each function: baseline, library floor, response floor and function in turn, `samples` times, after a
    warm-up."""
    results = {function: Samples() for function in FUNCTIONS}
    with functions_quiet(), LocalStack(clock=VirtualClock(START), settings=SETTINGS) as stack:
        prober = Prober(stack, layer)
        for function in FUNCTIONS:
            first = (REPRESENTATIVE[function],)
            prober.baseline()
            prober.floor(function)
            prober.run(function, prober.prepare(first))
            responding = function in RESPONSE_GOALS
            if responding:
                prober.floor_response(function)
            for _ in range(samples):
                results[function].baseline_ms.append(prober.baseline()["init_ms"])
                results[function].floor_ms.append(prober.floor(function)["init_ms"])
                if responding:
                    results[function].floor_response_ms.append(prober.floor_response(function)["init_ms"])
                probe = prober.run(function, prober.prepare(first))
                results[function].init_ms.append(probe["init_ms"])
                results[function].first_event_ms.append(probe["event_ms"][0])
                results[function].response_ms.append(probe["init_ms"] + probe["event_ms"][0])
    return results


def report(results: dict[str, Samples], samples: int) -> None:
    print(f"cold init, fresh interpreter, median of {samples} interleaved samples each, ms")
    print(
        f"  {'function':26}{'baseline':>9}{'floor':>7}{'init':>6}{'init/base':>10}{'goal':>6}"
        f"{'floor/base':>11}{'1st event':>10}  (first event's kind)"
    )
    for function, result in results.items():
        goal = GOALS[function]
        verdict = "met" if result.ratio <= goal else "MISSED"
        print(
            f"  {function:26}{statistics.median(result.baseline_ms):9.0f}{statistics.median(result.floor_ms):7.0f}"
            f"{statistics.median(result.init_ms):6.0f}{result.ratio:9.2f}x{goal:5.1f}x {verdict:7}"
            f"{result.floor_ratio:4.2f}x{statistics.median(result.first_event_ms):10.0f}"
            f"  ({REPRESENTATIVE[function].kind})"
        )
    print("whole first response, init + first event, against baseline + one PutItem + one POST, ms")
    for function, goal in RESPONSE_GOALS.items():
        result = results[function]
        print(
            f"  {function:26}floor {statistics.median(result.floor_response_ms):5.0f}  response"
            f" {statistics.median(result.response_ms):5.0f}  {result.response_ratio:.2f}x (goal {goal}x)"
        )
    for function, result in results.items():
        verdict = "met" if result.ratio <= GOALS[function] else "MISSED"
        print(f"GOAL {verdict}: {function} cold init {result.ratio:.2f}x baseline (goal {GOALS[function]}x)")
    for function, goal in RESPONSE_GOALS.items():
        ratio = results[function].response_ratio
        verdict = "met" if ratio <= goal else "MISSED"
        print(f"GOAL {verdict}: {function} whole first response {ratio:.2f}x its floor (goal {goal}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=11, help="samples of each (at least 7)")
    parser.add_argument("--layer", choices=("built", "source"), default="built", help="what is on PYTHONPATH")
    args = parser.parse_args()
    if args.samples < 7:
        parser.error("--samples must be at least 7")
    layer = build_layer() if args.layer == "built" else None
    print(f"layer: {layer or 'source tree (layers/common)'}")
    results = measure(args.samples, layer)
    report(results, args.samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
