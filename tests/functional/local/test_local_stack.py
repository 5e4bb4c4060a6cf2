"""The local stand-ins for AWS: resources built from template.yaml, API Gateway routing, the scheduler, SQS.

Harness behaviour is checked with recording handlers put in place of the real ones (`replace_handler`),
so these tests say what the stack does whatever the handlers do.
"""

from __future__ import annotations

import json
import os
import shlex
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from prodsupport import runtime
from prodsupport.core.settings import Settings
from prodsupport_local.emulator.cfn import HttpApiEvent, load_template
from prodsupport_local.emulator.server import LocalServer, cli_environment
from prodsupport_local.emulator.stack import LocalStack, VirtualClock

TEMPLATE = load_template()
MONDAY_NINE_ET = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)

type Recorder = list[dict[str, Any]]


@pytest.fixture
def replace_handler(stack: LocalStack) -> Iterator[Callable[..., Recorder]]:
    """Put a recording handler in place of a function's; the real one is back after the test."""
    replaced: list[str] = []

    def replace(logical_id: str, answer: Callable[[dict[str, Any]], Any] = lambda event: None) -> Recorder:
        events: Recorder = []

        def handler(event: dict[str, Any], context: Any) -> Any:
            events.append(event)
            return answer(event)

        stack.lambdas.override(logical_id, handler)
        replaced.append(logical_id)
        return events

    yield replace
    for logical_id in replaced:
        stack.lambdas.override(logical_id, None)


def send_email_request(stack: LocalStack, body: str = '{"request_id": "r1"}') -> str:
    answer = stack.aws.client("sqs").send_message(QueueUrl=stack.aws.queue_url("EmailQueue"), MessageBody=body)
    return str(answer["MessageId"])


def fail_every_record(event: dict[str, Any]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in event["Records"]]}


# -- resources from the template --------------------------------------------------------------------------


def test_tables_have_the_template_keys_attributes_and_billing(stack: LocalStack) -> None:
    dynamodb = stack.aws.client("dynamodb")
    for table in TEMPLATE.tables():
        described = dynamodb.describe_table(TableName=stack.aws.table_name(table.logical_id))["Table"]
        assert described["KeySchema"] == table.properties["KeySchema"]
        assert sorted(described["AttributeDefinitions"], key=str) == sorted(
            table.properties["AttributeDefinitions"], key=str
        )
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_tables_have_the_template_global_secondary_indexes(stack: LocalStack) -> None:
    dynamodb = stack.aws.client("dynamodb")
    for table in TEMPLATE.tables():
        described = dynamodb.describe_table(TableName=table.logical_id)["Table"]
        actual = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in described.get("GlobalSecondaryIndexes", [])
        }
        expected = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in table.properties.get("GlobalSecondaryIndexes", [])
        }
        assert actual == expected


def test_tables_have_the_template_time_to_live(stack: LocalStack) -> None:
    ttl = stack.aws.client("dynamodb").describe_time_to_live(TableName="IncidentsTable")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


def test_queues_redrive_to_their_dead_letter_queue_after_max_receive_count(stack: LocalStack) -> None:
    sqs = stack.aws.client("sqs")
    for queue in TEMPLATE.queues():
        attributes = sqs.get_queue_attributes(QueueUrl=stack.aws.queue_url(queue.logical_id), AttributeNames=["All"])
        policy = attributes["Attributes"].get("RedrivePolicy")
        if queue.redrive is None:
            assert policy is None
        else:
            assert json.loads(policy) == {
                "deadLetterTargetArn": stack.aws.queue_arn(queue.redrive.dead_letter_queue),
                "maxReceiveCount": queue.redrive.max_receive_count,
            }


def test_functions_see_the_template_globals_resolved_to_the_local_stack(stack: LocalStack) -> None:
    assert os.environ["PRODSUPPORT_TABLE_NAME"] == "IncidentsTable"
    assert os.environ["PRODSUPPORT_EMAIL_QUEUE_URL"] == stack.aws.queue_url("EmailQueue")
    assert os.environ["PRODSUPPORT_CHANNEL_ID"] == "C0PRODSUP"
    assert os.environ["PRODSUPPORT_SLACK_API_URL"] == stack.slack.base_url
    assert os.environ["AWS_ENDPOINT_URL"] == stack.aws.endpoint_url


def test_secrets_hold_the_local_signing_secret_and_tokens(stack: LocalStack) -> None:
    rt = runtime.current()
    assert rt.secret("prodsupport/slack") == {"signing_secret": "local-signing-secret", "bot_token": "xoxb-local"}
    assert rt.secret("prodsupport/pagerduty")["webhook_secrets"] == ["local-pagerduty-secret"]


def test_runtime_clock_is_the_stack_clock(stack: LocalStack, clock: VirtualClock) -> None:
    clock.set(datetime(2027, 1, 4, 12, tzinfo=UTC))
    assert runtime.current().clock() == datetime(2027, 1, 4, 12, tzinfo=UTC)


def test_configure_changes_the_settings_the_functions_read(stack: LocalStack) -> None:
    stack.configure({"channel_id": "C0OTHER", "stakeholders": ["a@example.gov"]})
    assert runtime.current().settings.channel_id == "C0OTHER"
    assert runtime.current().settings.stakeholders == ("a@example.gov",)


def test_deactivating_gives_the_process_its_environment_back(session_stack: LocalStack) -> None:
    before = dict(os.environ)
    session_stack.activate()
    assert os.environ["PRODSUPPORT_TABLE_NAME"] == "IncidentsTable"
    session_stack.deactivate()
    assert dict(os.environ) == before


def test_reset_empties_the_tables(stack: LocalStack) -> None:
    dynamodb = stack.aws.client("dynamodb")
    dynamodb.put_item(TableName="IncidentsTable", Item={"pk": {"S": "X"}, "sk": {"S": "Y"}})
    stack.reset()
    assert dynamodb.scan(TableName="IncidentsTable")["Count"] == 0


def test_ses_sends_are_read_back_with_both_bodies(stack: LocalStack) -> None:
    stack.aws.client("sesv2").send_email(
        FromEmailAddress="prodsupport@example.gov",
        Destination={"ToAddresses": ["pm@example.gov"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Check-In Experience Production Outage 11-27-2026"},
                "Body": {"Text": {"Data": "plain"}, "Html": {"Data": "<p>html</p>"}},
            }
        },
    )
    (sent,) = stack.sent_emails()
    assert (sent.sender, sent.to, sent.text, sent.html) == (
        "prodsupport@example.gov",
        ("pm@example.gov",),
        "plain",
        "<p>html</p>",
    )
    assert sent.message_id == "local-message-000001"


# -- API Gateway --------------------------------------------------------------------------------------------


def test_routes_are_the_template_http_api_events(stack: LocalStack) -> None:
    expected = {
        (event.route_key, function.logical_id)
        for function in TEMPLATE.functions()
        for event in function.events
        if isinstance(event, HttpApiEvent)
    }
    assert {(route.route_key, route.function) for route in stack.routes} == expected


def test_unknown_route_is_404(stack: LocalStack) -> None:
    response = stack.request("POST", "/nowhere", {}, b"")
    assert (response.status, json.loads(response.body)) == (404, {"message": "Not Found"})


def test_known_path_with_another_method_is_405(stack: LocalStack) -> None:
    assert stack.request("GET", "/slack/events").status == 405


def test_request_reaches_the_function_as_a_payload_2_event(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    events = replace_handler("SlackEventsFunction", lambda event: {"statusCode": 202, "body": "ok"})
    response = stack.request("POST", "/slack/commands", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1")
    (event,) = events
    assert (response.status, response.body) == (202, b"ok")
    assert event["routeKey"] == "POST /slack/commands"
    assert event["isBase64Encoded"] is True
    assert event["requestContext"]["timeEpoch"] == int(stack.clock().timestamp() * 1000)


def test_pagerduty_route_goes_to_the_webhook_function(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    events = replace_handler("PagerDutyWebhookFunction", lambda event: {"statusCode": 202})
    assert stack.request("POST", "/pagerduty/webhook", {"Content-Type": "application/json"}, b"{}").status == 202
    assert len(events) == 1


def test_handler_exception_is_a_500_and_a_recorded_failure(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    def explode(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    replace_handler("SlackEventsFunction", explode)
    response = stack.request("POST", "/slack/events", {"Content-Type": "application/json"}, b"{}")
    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})
    assert [(f.function, f.error) for f in stack.failures] == [("SlackEventsFunction", "RuntimeError: boom")]


# -- EventBridge Scheduler ----------------------------------------------------------------------------------


def test_tick_runs_the_every_minute_rule_with_time_at_that_minute(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    events = replace_handler("SlaCheckerFunction")
    ran = stack.tick(datetime(2026, 11, 27, 14, 5, 30, tzinfo=UTC))
    assert ran == ["SlaCheckerFunction.EveryMinute"]
    assert events == [{"time": "2026-11-27T14:05:00Z", "job": "sla"}]


def test_tick_runs_every_rule_of_that_minute_in_template_order(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    checker = replace_handler("SlaCheckerFunction")
    reports = replace_handler("ReportsFunction")
    ran = stack.tick(MONDAY_NINE_ET)
    assert ran == ["SlaCheckerFunction.EveryMinute", "ReportsFunction.WeeklyComplianceReport"]
    assert [event["job"] for event in (*checker, *reports)] == ["sla", "compliance_report"]
    assert {event["time"] for event in (*checker, *reports)} == {"2026-11-30T14:00:00Z"}


def test_tick_resolves_a_schedule_expression_given_by_a_template_parameter(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    reports = replace_handler("ReportsFunction")
    ran = stack.tick(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))  # Tue 12/01/2026 9:00 AM EST: the 1st, a weekday
    assert ran == ["SlaCheckerFunction.EveryMinute", "ReportsFunction.MonthlyOutlook"]
    assert reports == [{"time": "2026-12-01T14:00:00Z", "job": "monthly_outlook"}]


def test_tick_drains_what_the_scheduled_run_queued(stack: LocalStack, replace_handler: Callable[..., Recorder]) -> None:
    replace_handler("SlaCheckerFunction", lambda event: send_email_request(stack))
    deliveries = replace_handler("EmailSenderFunction", lambda event: {"batchItemFailures": []})
    stack.tick(datetime(2026, 11, 27, 14, 5, tzinfo=UTC))
    assert len(deliveries) == 1


def test_a_failing_scheduled_rule_does_not_stop_the_next(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    jobs: list[str] = []

    def fail_sla(event: dict[str, Any]) -> None:
        jobs.append(event["job"])
        if event["job"] == "sla":
            raise RuntimeError("table unavailable")

    replace_handler("SlaCheckerFunction", fail_sla)
    replace_handler("ReportsFunction", fail_sla)
    stack.tick(MONDAY_NINE_ET)
    assert jobs == ["sla", "compliance_report"]
    assert [failure.trigger for failure in stack.failures] == ["SlaCheckerFunction.EveryMinute"]


# -- SQS event source mapping -------------------------------------------------------------------------------


def test_drain_delivers_an_sqs_event_with_virtual_sent_timestamp(
    stack: LocalStack, clock: VirtualClock, replace_handler: Callable[..., Recorder]
) -> None:
    events = replace_handler("EmailSenderFunction", lambda event: {"batchItemFailures": []})
    message_id = send_email_request(stack)
    assert stack.drain() == 1
    (record,) = events[0]["Records"]
    assert record["messageId"] == message_id
    assert record["body"] == '{"request_id": "r1"}'
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["attributes"]["SentTimestamp"] == str(int(clock().timestamp() * 1000))
    assert (record["eventSource"], record["eventSourceARN"]) == ("aws:sqs", stack.aws.queue_arn("EmailQueue"))


def test_delivered_messages_leave_the_queue(stack: LocalStack, replace_handler: Callable[..., Recorder]) -> None:
    replace_handler("EmailSenderFunction", lambda event: {"batchItemFailures": []})
    send_email_request(stack)
    stack.drain()
    assert stack.queue_depth("EmailQueue") == 0


def test_a_failed_record_is_retried_on_the_next_drain_only(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    first, second = send_email_request(stack, "first"), send_email_request(stack, "second")

    def fail_first(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "first"]
        }

    events = replace_handler("EmailSenderFunction", fail_first)
    stack.drain()
    stack.drain()
    delivered = [[(r["messageId"], r["attributes"]["ApproximateReceiveCount"]) for r in e["Records"]] for e in events]
    assert delivered == [[(first, "1"), (second, "1")], [(first, "2")]]


def test_the_retry_keeps_the_first_sent_timestamp(
    stack: LocalStack, clock: VirtualClock, replace_handler: Callable[..., Recorder]
) -> None:
    events = replace_handler("EmailSenderFunction", fail_every_record)
    send_email_request(stack)
    sent_at = str(int(clock().timestamp() * 1000))
    stack.drain()
    clock.advance(timedelta(minutes=5))
    stack.drain()
    assert [e["Records"][0]["attributes"]["SentTimestamp"] for e in events] == [sent_at, sent_at]


def test_a_message_is_delivered_at_most_once_per_drain(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    events = replace_handler("EmailSenderFunction", fail_every_record)
    send_email_request(stack)
    stack.drain()
    assert len(events) == 1


def test_a_raising_handler_fails_the_whole_batch(stack: LocalStack, replace_handler: Callable[..., Recorder]) -> None:
    def explode(event: dict[str, Any]) -> Any:
        raise RuntimeError("SES down")

    replace_handler("EmailSenderFunction", explode)
    send_email_request(stack, "a"), send_email_request(stack, "b")
    stack.drain()
    assert stack.queue_depth("EmailQueue") == 2


def test_a_record_failing_max_receive_count_times_moves_to_the_dead_letter_queue(
    stack: LocalStack, replace_handler: Callable[..., Recorder]
) -> None:
    events = replace_handler("EmailSenderFunction", fail_every_record)
    send_email_request(stack)
    max_receive_count = 5  # template.yaml: EmailQueue RedrivePolicy
    for _ in range(max_receive_count + 1):
        stack.drain()
    assert len(events) == max_receive_count
    assert (stack.queue_depth("EmailQueue"), stack.queue_depth("EmailDeadLetterQueue")) == (0, 1)


# -- prodsupport run's front door ---------------------------------------------------------------------------


def test_local_server_serves_the_routes_over_http(stack: LocalStack, replace_handler: Callable[..., Recorder]) -> None:
    events = replace_handler("SlackEventsFunction", lambda event: {"statusCode": 200, "body": '{"ok":true}'})
    server = LocalServer(stack, "127.0.0.1", 0, schedule=False).start()
    try:
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{server.url}/slack/events", data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback server
            assert (answer.status, answer.read()) == (200, b'{"ok":true}')
    finally:
        server.stop()
    assert events[0]["headers"]["content-type"] == "application/json"


def test_the_cli_environment_points_at_the_stack_with_the_settings_its_functions_run_with(stack: LocalStack) -> None:
    stack.configure({"pm_user_id": "U0PM"})

    env = dict(assignment.split("=", 1) for assignment in shlex.split(cli_environment(stack)))

    assert env["AWS_ENDPOINT_URL"] == stack.aws.endpoint_url
    assert env["PRODSUPPORT_TABLE_NAME"] == stack.env["PRODSUPPORT_TABLE_NAME"]
    cli, functions = Settings.from_env(env), Settings.from_env(stack.env)
    assert (cli.pm_user_id, cli.applications) == (functions.pm_user_id, functions.applications)
