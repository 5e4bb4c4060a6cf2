"""template.yaml, read with the same CloudFormation loader the local stack uses: least-privilege policies,
encryption at rest, and a dead-letter queue and an alarm wherever work can fail out of sight.

checkov (in `make template`) checks the template against its general rules; these tests pin the rules this
service chose, so a change that loosens one fails here with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from prodsupport_local.cfn import ScheduleEvent, SqsEvent, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
# SAM policy templates that are scoped by a parameter naming one resource, and that parameter.
SCOPED_POLICY_TEMPLATES = {
    "DynamoDBCrudPolicy": "TableName",
    "SQSSendMessagePolicy": "QueueName",
    "AWSSecretsManagerGetSecretValuePolicy": "SecretArn",
}


def properties(name: str) -> dict[str, Any]:
    return dict(RESOURCES[name].get("Properties") or {})


def of_type(kind: str) -> list[str]:
    return [name for name, resource in RESOURCES.items() if resource["Type"] == kind]


def policies(function: str) -> list[Any]:
    return list(properties(function).get("Policies") or [])


def statements(function: str) -> list[dict[str, Any]]:
    return [s for policy in policies(function) if isinstance(policy, dict) for s in policy.get("Statement", [])]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def refers_to(value: Any) -> str:
    """The resource or parameter an intrinsic names: Ref X, GetAtt X.Attr, or a Sub naming ${X}."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"])
    return str(value)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_policy_is_a_managed_policy_by_name(function: str) -> None:
    assert [policy for policy in policies(function) if isinstance(policy, str)] == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_policy_template_is_one_scoped_to_a_named_resource(function: str) -> None:
    for policy in policies(function):
        if "Statement" in policy:
            continue
        [(name, arguments)] = policy.items()
        assert name in SCOPED_POLICY_TEMPLATES, f"{function}: {name} is not a resource-scoped policy template"
        scope = refers_to(arguments[SCOPED_POLICY_TEMPLATES[name]])
        assert "*" not in scope, f"{function}: {name} is scoped to {scope}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_inline_statement_allows_every_action_of_a_service(function: str) -> None:
    actions = [action for statement in statements(function) for action in as_list(statement["Action"])]
    assert [action for action in actions if "*" in action] == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_inline_statement_applies_to_every_resource(function: str) -> None:
    resources = [refers_to(r) for statement in statements(function) for r in as_list(statement["Resource"])]
    assert [resource for resource in resources if resource == "*" or resource.endswith(":*")] == []


def test_only_the_email_sender_may_send_email_and_only_as_the_configured_identity() -> None:
    senders = {function for function in FUNCTIONS for s in statements(function) if "ses:SendEmail" in s["Action"]}
    assert senders == {"EmailSenderFunction"}
    [statement] = statements("EmailSenderFunction")
    assert refers_to(statement["Resource"]).endswith(":identity/${EmailIdentity}")


def readable_secrets(function: str) -> set[str]:
    """The secret names a function may read: what follows `:secret:` in each granted ARN."""
    return {
        refers_to(policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]).rsplit(":secret:", 1)[1]
        for policy in policies(function)
        if "AWSSecretsManagerGetSecretValuePolicy" in policy
    }


def test_secrets_are_readable_only_by_name_and_secrets_managers_six_character_suffix() -> None:
    arns = set().union(*(readable_secrets(function) for function in FUNCTIONS))
    assert arns == {"${SlackSecretName}-??????", "${PagerDutySecretName}-??????", "${GitHubSecretName}-??????"}


@pytest.mark.parametrize(
    ("function", "secrets"),
    [
        ("SlackEventsFunction", {"${SlackSecretName}-??????", "${GitHubSecretName}-??????"}),
        (
            "PagerDutyWebhookFunction",
            {"${SlackSecretName}-??????", "${PagerDutySecretName}-??????", "${GitHubSecretName}-??????"},
        ),
        ("GitHubWebhookFunction", {"${SlackSecretName}-??????", "${GitHubSecretName}-??????"}),
        ("SlaCheckerFunction", {"${SlackSecretName}-??????", "${PagerDutySecretName}-??????"}),
        ("EmailSenderFunction", {"${SlackSecretName}-??????"}),
    ],
)
def test_each_function_reads_only_the_secrets_its_code_uses(function: str, secrets: set[str]) -> None:
    # Slack paths never read PagerDuty's webhook secrets or API token: only the webhook and the on-call
    # lookup of the SLA checker do. The GitHub token is read where a resolve opens the post-mortem's pull
    # request (Slack, and PagerDuty's resolve) and by the GitHub webhook.
    assert readable_secrets(function) == secrets


def test_the_table_is_encrypted_at_rest_and_recoverable() -> None:
    [table] = of_type("AWS::DynamoDB::Table")
    assert properties(table)["SSESpecification"]["SSEEnabled"] is True
    assert properties(table)["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


@pytest.mark.parametrize("queue", of_type("AWS::SQS::Queue"))
def test_every_queue_is_encrypted_at_rest(queue: str) -> None:
    props = properties(queue)
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props


@pytest.mark.parametrize("topic", of_type("AWS::SNS::Topic"))
def test_every_topic_is_encrypted_at_rest(topic: str) -> None:
    assert "KmsMasterKeyId" in properties(topic)


def test_every_queue_that_feeds_a_function_redrives_to_a_dead_letter_queue() -> None:
    fed = {event.queue for function in TEMPLATE.functions() for event in function.events if isinstance(event, SqsEvent)}
    redriven = {queue.logical_id for queue in TEMPLATE.queues() if queue.redrive is not None}
    assert fed and fed <= redriven


def test_every_schedule_dead_letters_and_the_scheduled_function_too() -> None:
    for function in TEMPLATE.functions():
        events = properties(function.logical_id).get("Events") or {}
        scheduled = [name for name, event in events.items() if event["Type"] == "ScheduleV2"]
        for name in scheduled:
            assert "DeadLetterConfig" in events[name]["Properties"], f"{function.logical_id}.{name}"
        if any(isinstance(event, ScheduleEvent) for event in function.events):
            assert (
                refers_to(properties(function.logical_id)["DeadLetterQueue"]["TargetArn"]) == "SchedulerDeadLetterQueue"
            )


def alarmed_dimensions() -> set[str]:
    return {
        refers_to(dimension["Value"])
        for alarm in of_type("AWS::CloudWatch::Alarm")
        for dimension in properties(alarm).get("Dimensions", [])
    }


def test_every_dead_letter_queue_has_an_alarm() -> None:
    dead_letter_queues = {queue.redrive.dead_letter_queue for queue in TEMPLATE.queues() if queue.redrive}
    dead_letter_queues |= {
        refers_to(properties(name)["DeadLetterQueue"]["TargetArn"])
        for name in FUNCTIONS
        if "DeadLetterQueue" in properties(name)
    }
    assert dead_letter_queues and dead_letter_queues <= alarmed_dimensions()


@pytest.mark.parametrize(
    "function", [f.logical_id for f in TEMPLATE.functions() if not any(isinstance(e, SqsEvent) for e in f.events)]
)
def test_every_function_whose_failures_reach_no_queue_has_an_errors_alarm(function: str) -> None:
    assert function in alarmed_dimensions()


def test_the_public_api_is_throttled_and_access_logged() -> None:
    [api] = of_type("AWS::Serverless::HttpApi")
    props = properties(api)
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert refers_to(props["AccessLogSettings"]["DestinationArn"]) in of_type("AWS::Logs::LogGroup")
