"""A cold PagerDuty trigger, once its claim is made, reads what its post needs (the Slack client's secret, the
roster for the owner) while it writes the id counter (infra/ahead.py). Each is still read once, a duplicate
reads nothing more, a read that fails ahead fails the delivery where the in-line read did (so PagerDuty's retry
opens the incident once), and what an earlier invocation started and never took is dropped."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from builders import deliver_pagerduty, incident_data, pagerduty_event

from prodsupport import runtime
from prodsupport_local.emulator.stack import LocalStack

OPENED = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # a Tuesday, in business hours
SLACK_SECRET = "prodsupport/slack"
HOOK = "test-work-ahead"


def what(model: Any, params: dict[str, Any]) -> str:
    """A request as this file names it: a secret read by name, the roster read, the counter write, or other."""
    if model.name == "GetSecretValue":
        return f"secret {params['SecretId']}"
    if model.name == "GetItem" and params["Key"]["sk"]["S"].startswith("ROSTER"):
        return "roster"
    if model.name == "UpdateItem" and params["Key"]["pk"]["S"].startswith("COUNTER#"):
        return "counter"
    return "other"


@contextmanager
def watching(on_request: Callable[[str], None]) -> Iterator[None]:
    """`on_request` sees every Secrets Manager and DynamoDB request the function makes, from every thread, before
    it is sent."""

    def before_build(model: Any, params: dict[str, Any], **_: Any) -> None:
        on_request(what(model, params))

    rt = runtime.current()
    clients = [rt.client("secretsmanager"), rt.client("dynamodb")]
    for client in clients:
        client.meta.events.register("before-parameter-build", before_build, unique_id=HOOK)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build", unique_id=HOOK)


@contextmanager
def reads() -> Iterator[Counter[str]]:
    """The secrets (by name) and rosters the function reads."""
    seen: Counter[str] = Counter()

    def count(request: str) -> None:
        if request.startswith("secret") or request == "roster":
            seen[request] += 1

    with watching(count):
        yield seen


def test_a_cold_trigger_reads_each_secret_and_the_roster_once(stack: LocalStack) -> None:
    with reads() as seen:
        response = deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED))
    assert response.status == 202
    assert seen == {"secret prodsupport/pagerduty": 1, f"secret {SLACK_SECRET}": 1, "roster": 1}
    assert len(stack.slack.posts()) == 1


def test_a_warm_trigger_reads_no_secret_and_no_roster(stack: LocalStack) -> None:
    deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED))
    second = pagerduty_event("incident.triggered", OPENED, event_id="EV-2", data=incident_data(pd_id="Q0SECOND"))
    with reads() as seen:
        response = deliver_pagerduty(stack, second)
    assert response.status == 202
    assert seen == {}


def test_a_repeated_trigger_in_a_cold_container_reads_only_the_secret_that_verifies_it(stack: LocalStack) -> None:
    event = pagerduty_event("incident.triggered", OPENED)
    deliver_pagerduty(stack, event, "wh-1")
    runtime.reset()  # a new container
    with reads() as seen:
        response = deliver_pagerduty(stack, event, "wh-2")  # within the first's lease: told to retry later
    assert response.status == 503
    assert seen == {"secret prodsupport/pagerduty": 1}


def test_the_slack_secret_and_the_roster_are_read_while_the_id_counter_is_written(stack: LocalStack) -> None:
    """The counter write is held, as a slow DynamoDB would hold it, until both reads have started: read in line
    after it, they never would, and the wait gives up."""
    started = {"slack secret": threading.Event(), "roster": threading.Event()}
    during_the_counter: dict[str, bool] = {}

    def on_request(request: str) -> None:
        if request == f"secret {SLACK_SECRET}":
            started["slack secret"].set()
        elif request == "roster":
            started["roster"].set()
        elif request == "counter":
            during_the_counter.update({name: event.wait(timeout=2) for name, event in started.items()})

    with watching(on_request):
        response = deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED))
    assert response.status == 202
    assert during_the_counter == {"slack secret": True, "roster": True}


def test_a_trigger_whose_slack_secret_cannot_be_read_fails_and_its_retry_opens_the_incident_once(
    stack: LocalStack,
) -> None:
    secrets = stack.aws.client("secretsmanager")
    saved = secrets.get_secret_value(SecretId=SLACK_SECRET)["SecretString"]
    secrets.delete_secret(SecretId=SLACK_SECRET, ForceDeleteWithoutRecovery=True)
    event = pagerduty_event("incident.triggered", OPENED)

    failed = deliver_pagerduty(stack, event, "wh-1")
    secrets.create_secret(Name=SLACK_SECRET, SecretString=saved)
    retried = deliver_pagerduty(stack, event, "wh-1")

    assert failed.status >= 500
    assert retried.status == 202
    assert json.loads(retried.body)["status"] == "opened"
    assert len(stack.slack.posts()) == 1
    assert len(runtime.current().store.open_incidents()) == 1


def test_a_slack_client_that_failed_ahead_raises_its_error_where_it_is_used(stack: LocalStack) -> None:
    stack.aws.client("secretsmanager").delete_secret(SecretId=SLACK_SECRET, ForceDeleteWithoutRecovery=True)
    rt = runtime.current()

    rt.slack_ahead()
    with pytest.raises(GetParameterError):
        rt.slack  # noqa: B018


def test_a_slack_client_an_earlier_invocation_started_and_never_took_is_dropped(stack: LocalStack) -> None:
    """As when a duplicate answered at once and Lambda froze the container with the read in flight."""
    secrets = stack.aws.client("secretsmanager")
    saved = secrets.get_secret_value(SecretId=SLACK_SECRET)["SecretString"]
    secrets.delete_secret(SecretId=SLACK_SECRET, ForceDeleteWithoutRecovery=True)
    rt = runtime.current()
    rt.slack_ahead()
    assert rt._slack_ahead is not None and isinstance(rt._slack_ahead.exception(timeout=5), GetParameterError)
    secrets.create_secret(Name=SLACK_SECRET, SecretString=saved)

    rt.begin(10_000)  # the next invocation

    assert rt.slack.token == stack.aws.secrets.slack_bot_token
