"""template.yaml as SAM deploys it (tests/security/deployed.py): least privilege checked against the code,
encryption at rest, and a dead-letter queue and an alarm wherever work can fail out of sight.

checkov (in `make template`) checks the template against its general rules; these tests pin the rules this
service chose, so a change that loosens one fails here with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from deployed import as_list, deployed, resources_of

from prodsupport_local.emulator.cfn import ScheduleEvent, SqsEvent, load_template

TEMPLATE = load_template()
DEPLOYED = deployed()
ROLES = resources_of(DEPLOYED, "AWS::IAM::Role")
FUNCTIONS = resources_of(DEPLOYED, "AWS::Lambda::Function")
LAYER = Path(__file__).parents[2] / "layers" / "common" / "prodsupport"

# What the shared code calls, by boto3 method, as IAM actions. `transact_write_items` is authorised per item
# kind: the code's transactions hold Puts and ConditionChecks (dynamo.Table.put_all).
CODE_CALLS = {
    "get_item": {"dynamodb:GetItem"},
    "put_item": {"dynamodb:PutItem"},
    "update_item": {"dynamodb:UpdateItem"},
    "delete_item": {"dynamodb:DeleteItem"},
    "query": {"dynamodb:Query"},
    "transact_write_items": {"dynamodb:PutItem", "dynamodb:ConditionCheckItem"},
    "send_message": {"sqs:SendMessage"},
    "send_email": {"ses:SendEmail"},
}
# What the Lambda and Scheduler services do on a role's behalf, not the code: write the function's logs,
# poll the email queue (the event source mapping), dead-letter a failed async run, invoke on schedule.
SERVICE_CALLS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
    "lambda:InvokeFunction",
    "secretsmanager:GetSecretValue",  # Powertools' SecretsProvider (runtime.Runtime.secret)
}


def statements(role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in ROLES[role].get("Policies") or []
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]


def role_of(function: str) -> str:
    role = FUNCTIONS[function]["Role"]
    assert "Fn::GetAtt" in role, f"{function} uses a role SAM generated"
    return str(role["Fn::GetAtt"][0])


def actions(role: str) -> set[str]:
    return {action for statement in statements(role) for action in as_list(statement["Action"])}


def called_by_code() -> set[str]:
    source = "\n".join(path.read_text(encoding="utf-8") for path in LAYER.rglob("*.py"))
    methods = set(re.findall(r"client(?:\(\"\w+\"\))?\.(\w+)\(", source)) & set(CODE_CALLS)
    return set().union(*(CODE_CALLS[method] for method in methods))


def granted_resources(role: str, action: str) -> list[Any]:
    return [r for s in statements(role) if action in as_list(s["Action"]) for r in as_list(s["Resource"])]


def text_of(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return ".".join(value["Fn::GetAtt"])
    return str(value)


@pytest.mark.parametrize("role", ROLES)
def test_no_role_carries_a_managed_policy(role: str) -> None:
    # SAM's generated roles attach AWSLambdaBasicExecutionRole (logs on "*"), AWSLambdaSQSQueueExecutionRole
    # (every queue) and, with tracing, AWSXrayWriteOnlyAccess: each function has its own scoped role instead.
    assert ROLES[role].get("ManagedPolicyArns") in (None, [])


@pytest.mark.parametrize("role", ROLES)
def test_no_statement_applies_to_every_resource(role: str) -> None:
    resources = [text_of(r) for s in statements(role) for r in as_list(s["Resource"])]
    assert [r for r in resources if r == "*" or r.endswith(":*") or r.endswith("/*")] == []


@pytest.mark.parametrize("role", ROLES)
def test_no_action_is_a_wildcard(role: str) -> None:
    assert [action for action in actions(role) if "*" in action] == []


@pytest.mark.parametrize("role", ROLES)
def test_nothing_is_granted_that_no_code_or_service_calls(role: str) -> None:
    assert actions(role) <= called_by_code() | SERVICE_CALLS


def test_every_call_the_code_makes_is_granted_to_some_function() -> None:
    granted = set().union(*(actions(role_of(function)) for function in FUNCTIONS))
    assert called_by_code() <= granted


def reaches_the_outbox(function: str) -> bool:
    """A handler that repaints cards (its `Runtime.invocation` ends with them) may hand a repaint, or a post, to
    the Slack outbox."""
    [code_uri] = [f.code_uri for f in TEMPLATE.functions() if f.logical_id == function]
    handler = Path(__file__).parents[2] / code_uri / "app.py"
    return ".invocation(" in handler.read_text(encoding="utf-8")


def test_the_handlers_that_repaint_cards_are_the_ones_expected() -> None:
    # Pins the detection below: a handler that stops (or starts) repainting cards changes this list on purpose.
    assert {function for function in FUNCTIONS if reaches_the_outbox(function)} == {
        "SlackEventsFunction",
        "PagerDutyWebhookFunction",
        "GitHubWebhookFunction",
        "SlaCheckerFunction",
        "EmailSenderFunction",
    }


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if reaches_the_outbox(f)])
def test_each_function_that_can_reach_the_outbox_may_send_to_it(function: str) -> None:
    # Without the grant, a slow Slack turns a saved change into a 500 (or a failed SQS batch) at hand-over.
    granted = granted_resources(role_of(function), "sqs:SendMessage")
    assert {"Fn::GetAtt": ["SlackOutboxQueue", "Arn"]} in granted


def test_each_function_writes_logs_only_to_its_own_log_group() -> None:
    for function in FUNCTIONS:
        [log_group] = granted_resources(role_of(function), "logs:PutLogEvents")
        assert log_group["Fn::GetAtt"][0] == FUNCTIONS[function]["LoggingConfig"]["LogGroup"]["Ref"]


def test_only_the_email_sender_may_send_email_as_the_identity_through_its_configuration_set() -> None:
    senders = {function for function in FUNCTIONS if "ses:SendEmail" in actions(role_of(function))}
    assert senders == {"EmailSenderFunction"}
    resources = [text_of(r) for r in granted_resources(role_of("EmailSenderFunction"), "ses:SendEmail")]
    assert [r.rsplit(":", 1)[1] for r in resources] == [
        "identity/${EmailIdentity}",
        "configuration-set/${EmailConfigurationSet}",
    ]


def readable_secrets(function: str) -> set[str]:
    """The secret names a function may read: what follows `:secret:` in each granted ARN."""
    return {
        text_of(arn).rsplit(":secret:", 1)[1]
        for arn in granted_resources(role_of(function), "secretsmanager:GetSecretValue")
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
        ("ReportsFunction", {"${SlackSecretName}-??????"}),
    ],
)
def test_each_function_reads_only_the_secrets_its_code_uses(function: str, secrets: set[str]) -> None:
    # Slack paths never read PagerDuty's webhook secrets or API token: only the webhook and the on-call
    # lookup of the SLA checker do. The GitHub token is read where a resolve opens the post-mortem's pull
    # request (Slack, and PagerDuty's resolve) and by the GitHub webhook.
    assert readable_secrets(function) == secrets


def test_table_queries_are_scoped_to_the_tables_own_indexes() -> None:
    queriers = {function for function in FUNCTIONS if "dynamodb:Query" in actions(role_of(function))}
    assert queriers == set(FUNCTIONS) - {"SlackOutboxFunction"}  # the outbox only posts: no table at all
    for function in queriers:
        indexes = {
            text_of(r)
            for s in statements(role_of(function))
            if "dynamodb:Query" in as_list(s["Action"]) and "Condition" not in s
            for r in as_list(s["Resource"])
        }
        assert indexes == {f"${{IncidentsTable.Arn}}/index/{name}" for name in ("due", "open", "opened")}


def partitions_the_code_queries_without_an_index() -> set[str]:
    """The `:pk` of every base-table Query in the package, read from the source, so the grant follows the code.

    A query with `index=` reads a GSI (granted by index ARN); one without reads the table, which IAM allows
    only in the partitions listed as LeadingKeys. `:pk` is a module constant, given inline or in a `vals` dict
    built earlier in the same function.
    """
    found: set[str] = set()
    for source in LAYER.rglob("*.py"):
        tree = ast.parse(source.read_text())
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            dicts = {
                node.target.id: node.value
                for node in ast.walk(function)
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                if isinstance(node.value, ast.Dict)
            } | {
                node.targets[0].id: node.value
                for node in ast.walk(function)
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                if isinstance(node.value, ast.Dict)
            }
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                    continue
                keywords = {k.arg: k.value for k in call.keywords}
                if call.func.attr != "query" or "key_condition" not in keywords or "index" in keywords:
                    continue
                vals = keywords["vals"]
                vals = dicts[vals.id] if isinstance(vals, ast.Name) else vals
                assert isinstance(vals, ast.Dict), f"{source}:{call.lineno}: vals not readable"
                [pk] = [
                    v
                    for k, v in zip(vals.keys, vals.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == ":pk"
                ]
                value = constants[pk.id] if isinstance(pk, ast.Name) else ast.literal_eval(pk)
                found.add(str(value))
    return found


def test_the_code_queries_the_table_itself_in_the_github_and_releases_partitions() -> None:
    assert partitions_the_code_queries_without_an_index() == {"GITHUB", "RELEASES"}


def test_the_table_itself_is_queried_only_in_the_partitions_the_code_queries_by_who_reads_them() -> None:
    readers = {}
    for function in FUNCTIONS:
        for s in statements(role_of(function)):
            if "dynamodb:Query" in as_list(s["Action"]) and "Condition" in s:
                readers[function] = (as_list(s["Resource"]), s["Condition"])
    # `/incident list` and release commands; reminders and the release digest and day; the weekly report's
    # open action items and the monthly outlook's releases
    assert set(readers) == {"SlackEventsFunction", "SlaCheckerFunction", "ReportsFunction"}
    partitions = sorted(partitions_the_code_queries_without_an_index())
    for resources, condition in readers.values():
        assert [text_of(r) for r in resources] == ["IncidentsTable.Arn"]
        assert condition == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": partitions}}


def test_each_queue_is_polled_only_by_its_own_consumer() -> None:
    pollers = {function for function in FUNCTIONS if "sqs:ReceiveMessage" in actions(role_of(function))}
    assert pollers == {"EmailSenderFunction", "SlackOutboxFunction"}
    [queue] = granted_resources(role_of("EmailSenderFunction"), "sqs:ReceiveMessage")
    assert queue == {"Fn::GetAtt": ["EmailQueue", "Arn"]}
    [queue] = granted_resources(role_of("SlackOutboxFunction"), "sqs:ReceiveMessage")
    assert queue == {"Fn::GetAtt": ["SlackOutboxQueue", "Arn"]}


# --- encryption, dead letters, alarms (the source template) ---------------------------------------------


RESOURCES = TEMPLATE.resources


def properties(name: str) -> dict[str, Any]:
    return dict(RESOURCES[name].get("Properties") or {})


def of_type(kind: str) -> list[str]:
    return [name for name, resource in RESOURCES.items() if resource["Type"] == kind]


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


def test_the_table_is_encrypted_at_rest_recoverable_and_protected_from_deletion() -> None:
    [table] = of_type("AWS::DynamoDB::Table")
    assert properties(table)["SSESpecification"]["SSEEnabled"] is True
    assert properties(table)["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties(table)["DeletionProtectionEnabled"] is True
    assert RESOURCES[table]["DeletionPolicy"] == "Retain"


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
        refers_to(properties(f.logical_id)["DeadLetterQueue"]["TargetArn"])
        for f in TEMPLATE.functions()
        if "DeadLetterQueue" in properties(f.logical_id)
    }
    assert dead_letter_queues and dead_letter_queues <= alarmed_dimensions()


@pytest.mark.parametrize("function", [f.logical_id for f in TEMPLATE.functions()])
def test_every_function_has_an_errors_alarm(function: str) -> None:
    assert function in alarmed_dimensions()


def test_the_public_api_is_throttled_and_access_logged() -> None:
    [api] = of_type("AWS::Serverless::HttpApi")
    props = properties(api)
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert refers_to(props["AccessLogSettings"]["DestinationArn"]) in of_type("AWS::Logs::LogGroup")
