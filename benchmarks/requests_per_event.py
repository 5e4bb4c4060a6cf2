"""How many AWS and Slack API requests each kind of inbound event costs, warm.

Each kind is sent once on the local stack after one warm-up event of the same kind, so the cold-start work
(the Secrets Manager reads of the Slack and PagerDuty secrets, cached by Powertools for five minutes) is
not counted: these are the costs of a warm container. AWS requests are counted with botocore's
`before-call` hook on the functions' own clients (the stack's emulation of API Gateway, the scheduler and
the SQS event source is not counted); a write is conditional when it carries a ConditionExpression.
Slack calls are those the recording Slack API received, PagerDuty calls those of the recording PagerDuty API.
A Slack or PagerDuty delivery's claim rides on its first write (a transaction then carries it) or is written
just before its first effect; the reply's acknowledging write carries it as an attribute (docs/design.md).

Goals: issue 18's budgets, all requests counted (DynamoDB, SQS, SES, Slack, the live card's update and re-read
included): alert declaration <= 5, PagerDuty trigger <= 5, PagerDuty acknowledged <= 4, status update <= 4,
`/incident <id> email` <= 5, email send <= 5, a thread reply that acks <= 3; and an ignored event = the dedupe
write only.

    .venv/bin/python benchmarks/requests_per_event.py
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from traffic import (
    ALERT_DECLARATION,
    COMMAND_EMAIL,
    COMMAND_STATUS,
    EMAIL_SEND,
    IGNORED,
    PAGERDUTY_ACK,
    PAGERDUTY_TRIGGER,
    RECIPES,
    SETTINGS,
    START,
    THREAD_REPLY_THAT_ACKS,
    Recipe,
    Traffic,
    functions_quiet,
)

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack, VirtualClock

SERVICES = ("dynamodb", "secretsmanager", "sqs", "sesv2")
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
# Issue 18: every request an inbound event costs, warm.
BUDGETS = {
    ALERT_DECLARATION: 5,
    PAGERDUTY_TRIGGER: 5,
    PAGERDUTY_ACK: 4,
    COMMAND_STATUS: 4,
    COMMAND_EMAIL: 5,
    EMAIL_SEND: 5,
    THREAD_REPLY_THAT_ACKS: 3,
}


@dataclass
class Requests:
    aws: Counter[str] = field(default_factory=Counter)
    conditional: Counter[str] = field(default_factory=Counter)
    dedupe: int = 0
    folded: int = 0  # writes that carried the delivery's claim with the change (infra/dedupe.py)
    slack: Counter[str] = field(default_factory=Counter)
    pagerduty: int = 0

    @property
    def total(self) -> int:
        return sum(self.aws.values()) + sum(self.slack.values()) + self.pagerduty

    def dynamodb(self) -> int:
        return sum(n for name, n in self.aws.items() if name.startswith("dynamodb."))

    def describe(self) -> str:
        parts = []
        for name, n in sorted(self.aws.items()):
            conditional = self.conditional[name]
            note = f" ({conditional} conditional)" if conditional else ""
            parts.append(f"{name.removeprefix('dynamodb.')} {n}{note}")
        if self.dedupe:
            parts.append(f"of which the dedupe write {self.dedupe}")
        if self.folded:
            parts.append(f"the delivery's claim carried by {self.folded} of those writes")
        parts.extend(f"slack {method} {n}" for method, n in sorted(self.slack.items()))
        if self.pagerduty:
            parts.append(f"pagerduty {self.pagerduty}")
        return ", ".join(parts) or "none"


@contextmanager
def counting(requests: Requests) -> Iterator[None]:
    """Count every call the functions' boto3 clients make while the block runs."""
    clients = [runtime.current().client(service) for service in SERVICES]
    carrying: list[bool] = []  # per request in flight: does it carry the delivery's claim

    def before_call(event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".", 2)[1:]
        requests.aws[f"{service}.{operation}"] += 1

    def before_build(event_name: str, params: dict[str, Any], **_: Any) -> None:
        service, operation = event_name.split(".", 2)[1:]
        if operation in WRITES and "ConditionExpression" in params:
            requests.conditional[f"{service}.{operation}"] += 1
        key = params.get("Key") or params.get("Item") or {}
        if str(key.get("pk", {}).get("S", "")).startswith("DEDUPE#"):
            requests.dedupe += 1
        puts = [item["Put"]["Item"] for item in params.get("TransactItems", []) if "Put" in item]
        carries = any(str(put.get("pk", {}).get("S", "")).startswith("DEDUPE#") for put in puts)
        carrying.append(carries or "ack_delivery" in str(params.get("UpdateExpression", "")))  # the reply's ack

    def after_call(parsed: dict[str, Any], **_: Any) -> None:
        if carrying and carrying.pop() and "Error" not in parsed:  # counted once the write carrying it succeeded
            requests.folded += 1

    for client in clients:
        client.meta.events.register("before-call.*.*", before_call, unique_id="bench-count-call")
        client.meta.events.register("before-parameter-build.*.*", before_build, unique_id="bench-count-build")
        client.meta.events.register("after-call.*.*", after_call, unique_id="bench-count-after")
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.*.*", unique_id="bench-count-call")
            client.meta.events.unregister("before-parameter-build.*.*", unique_id="bench-count-build")
            client.meta.events.unregister("after-call.*.*", unique_id="bench-count-after")


def measure(stack: LocalStack, traffic: Traffic, recipe: Recipe) -> tuple[str, Requests]:
    """One warm-up event of the kind, then the counted one."""
    traffic.run(recipe(traffic))
    invocation = recipe(traffic)
    requests = Requests()
    slack_before = len(stack.slack.calls)
    pagerduty = stack.pagerduty
    pagerduty_before = len(pagerduty.calls) if pagerduty else 0
    with counting(requests):
        traffic.run(invocation)
    requests.slack.update(call.method for call in stack.slack.calls[slack_before:])
    requests.pagerduty = (len(pagerduty.calls) if pagerduty else 0) - pagerduty_before
    return invocation.kind, requests


def goals(results: dict[str, Requests]) -> list[tuple[str, bool]]:
    """Each goal, and whether this run met it."""
    checks = []
    for recipe, budget in BUDGETS.items():
        total = results[recipe.kind].total
        checks.append((f"{recipe.kind}: {total} requests (budget {budget})", total <= budget))
    checks.extend(
        (
            f"{recipe.kind} = the dedupe write only",
            _only_conditional_writes(results[recipe.kind], 1) and not results[recipe.kind].slack,
        )
        for recipe in IGNORED
    )
    return checks


def _only_conditional_writes(requests: Requests, writes: int) -> bool:
    """Exactly `writes` DynamoDB requests, all conditional writes, one of them the dedupe's; no other AWS call."""
    return (
        requests.dynamodb() == sum(requests.aws.values()) == sum(requests.conditional.values()) == writes
        and requests.dedupe == 1
        and not requests.pagerduty
    )


def run() -> tuple[dict[str, Requests], list[tuple[str, bool]]]:
    with functions_quiet(), LocalStack(clock=VirtualClock(START), settings=SETTINGS) as stack:
        traffic = Traffic(stack)
        results = dict(measure(stack, traffic, recipe) for recipe in RECIPES)
    return results, goals(results)


def report(results: dict[str, Requests], met: list[tuple[str, bool]]) -> None:
    print("requests per inbound event, warm (after one warm-up event of the same kind, so no secret reads)")
    width = max(len(kind) for kind in results)
    for kind, requests in results.items():
        print(f"  {kind:{width}}  {requests.total:3d}  {requests.describe()}")
    for goal, ok in met:
        print(f"GOAL {'met' if ok else 'MISSED'}: {goal}")


def main() -> int:
    results, met = run()
    report(results, met)
    return 0


if __name__ == "__main__":
    sys.exit(main())
