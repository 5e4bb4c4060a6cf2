"""A cold PagerDuty delivery starts what its post needs (the Slack client with its secret and TLS context, the
roster for the owner) while it writes its claim and its change (infra/ahead.py). Each is still read once, the
post is made by the client made ahead, and a client that failed ahead is made again where it is used, whose
failure fails the delivery where it always did, so PagerDuty's retry opens the incident once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
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


@contextmanager
def reads() -> Iterator[Counter[str]]:
    """What the function reads from Secrets Manager (by secret) and the roster reads, from every thread."""
    seen: Counter[str] = Counter()

    def before_build(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "GetSecretValue":
            seen[f"secret {params['SecretId']}"] += 1
        elif model.name == "GetItem" and params["Key"]["sk"]["S"].startswith("ROSTER"):
            seen["roster"] += 1

    rt = runtime.current()
    clients = [rt.client("secretsmanager"), rt.client("dynamodb")]
    for client in clients:
        client.meta.events.register("before-parameter-build", before_build, unique_id="test-work-ahead")
    try:
        yield seen
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build", unique_id="test-work-ahead")


def test_a_cold_trigger_reads_each_secret_and_the_roster_once(stack: LocalStack) -> None:
    with reads() as seen:
        response = deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED))
    assert response.status == 202
    assert seen == {"secret prodsupport/pagerduty": 1, f"secret {SLACK_SECRET}": 1, "roster": 1}
    assert len(stack.slack.posts()) == 1


def test_a_warm_trigger_reads_no_secret_and_no_roster(stack: LocalStack) -> None:
    deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED))
    with reads() as seen:
        second = pagerduty_event("incident.triggered", OPENED, event_id="EV-2", data=incident_data(pd_id="Q0SECOND"))
        response = deliver_pagerduty(stack, second)
    assert response.status == 202
    assert seen == {}


def test_the_post_of_a_cold_trigger_is_made_by_the_client_made_ahead_with_the_containers_tls_context(
    stack: LocalStack,
) -> None:
    deliver_pagerduty(stack, pagerduty_event("incident.triggered", OPENED))
    rt = runtime.current()
    assert rt.slack.ssl is rt.tls
    assert stack.slack.posts()[0].args["channel"] == rt.settings.channel_id


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


def test_a_slack_client_that_failed_ahead_is_made_again_where_it_is_used(stack: LocalStack) -> None:
    """As when the container was frozen after an earlier delivery with the read in flight, and it failed."""
    secrets = stack.aws.client("secretsmanager")
    saved = secrets.get_secret_value(SecretId=SLACK_SECRET)["SecretString"]
    secrets.delete_secret(SecretId=SLACK_SECRET, ForceDeleteWithoutRecovery=True)
    rt = runtime.current()
    rt.slack_ahead()
    assert rt._slack_ahead is not None and isinstance(rt._slack_ahead.exception(), GetParameterError)

    secrets.create_secret(Name=SLACK_SECRET, SecretString=saved)

    assert rt.slack.token == stack.aws.secrets.slack_bot_token


def test_when_the_slack_client_cannot_be_made_where_it_is_used_either_its_error_is_raised(stack: LocalStack) -> None:
    stack.aws.client("secretsmanager").delete_secret(SecretId=SLACK_SECRET, ForceDeleteWithoutRecovery=True)
    rt = runtime.current()

    rt.slack_ahead()
    with pytest.raises(GetParameterError):
        rt.slack  # noqa: B018
