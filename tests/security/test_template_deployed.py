"""What a team deploying template.yaml gets from AWS, read on the transformed template (deployed.py):
alarms that reach a person, stacks that share an account, logs that expire, queues sized to their consumer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from deployed import as_list, deployed, physical_name, resources_of

from prodsupport.email.sender import CLAIM_EXPIRY
from prodsupport_local.emulator.cfn import load_template

DEPLOYED = deployed()
ALARMS = resources_of(DEPLOYED, "AWS::CloudWatch::Alarm")
FUNCTIONS = resources_of(DEPLOYED, "AWS::Lambda::Function")
PARAMETERS = load_template().body["Parameters"]
# Every property CloudFormation takes as a resource's physical name.
NAME_PROPERTIES = re.compile(r"^(Name|\w+Name)$")
# Names of something else, or names that live inside their own resource (a stage within its API).
NOT_NAMES = {
    "ConfigurationSetName",
    "MetricName",
    "PolicyName",
    "IndexName",
    "AttributeName",
    "DimensionName",
    "StageName",
}
# Resources whose name is unique only within their parent, which has a name of its own (a function's alias).
SCOPED_TO_THEIR_PARENT = {"AWS::Lambda::Alias"}


def alarm_named_by(metric: str) -> dict[str, Any]:
    [alarm] = [props for props in ALARMS.values() if props.get("MetricName") == metric]
    return alarm


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears() -> None:
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}], name


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use() -> None:
    [topic] = resources_of(DEPLOYED, "AWS::SNS::Topic").values()
    key_id = topic["KmsMasterKeyId"]
    assert key_id == {"Ref": "AlarmKey"}, "alias/aws/sns cannot grant CloudWatch the key; alarm mail would never come"
    policy = DEPLOYED["Resources"]["AlarmKey"]["Properties"]["KeyPolicy"]
    [grant] = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(as_list(grant["Action"])) >= {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_cloudwatch_may_publish_to_the_alarm_topic() -> None:
    [policy] = resources_of(DEPLOYED, "AWS::SNS::TopicPolicy").values()
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"


def test_alarm_email_is_required_and_subscribed() -> None:
    parameter = PARAMETERS["AlarmEmail"]
    assert "Default" not in parameter
    assert re.fullmatch(parameter["AllowedPattern"], "") is None
    [topic] = resources_of(DEPLOYED, "AWS::SNS::Topic").values()
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]


def named(template: dict[str, Any], stack_name: str) -> dict[str, str]:
    """Every physical name the template fixes (not left to CloudFormation), by resource and property."""
    names = {}
    for resource, body in template["Resources"].items():
        if body["Type"] in SCOPED_TO_THEIR_PARENT:
            continue
        for prop, value in (body.get("Properties") or {}).items():
            if NAME_PROPERTIES.match(prop) and prop not in NOT_NAMES:
                name = physical_name(value, stack_name)
                if name is not None:
                    names[f"{resource}.{prop}"] = name
    return names


def test_two_stacks_in_one_account_never_share_a_physical_name() -> None:
    production = named(deployed("prodsupport"), "prodsupport")
    staging = named(deployed("prodsupport-staging"), "prodsupport-staging")

    assert production, "the SES configuration set at least is named"
    assert set(production.values()) & set(staging.values()) == set()


def test_schedules_are_named_by_cloudformation() -> None:
    for name, schedule in resources_of(DEPLOYED, "AWS::Scheduler::Schedule").items():
        assert "Name" not in schedule, f"{name} would clash with the same schedule of another stack"


def test_every_function_logs_to_a_log_group_that_expires() -> None:
    groups = resources_of(DEPLOYED, "AWS::Logs::LogGroup")
    for function, props in FUNCTIONS.items():
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, function
    assert PARAMETERS["LogRetentionDays"]["Default"] == 90


def test_every_queue_hides_a_message_at_least_six_times_its_consumers_timeout() -> None:
    mappings = resources_of(DEPLOYED, "AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 2  # the email sender and the Slack outbox
    for mapping in mappings:
        consumer = FUNCTIONS[mapping["FunctionName"]["Ref"]]
        queue = DEPLOYED["Resources"][mapping["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * consumer["Timeout"]


def test_an_email_claim_expires_only_after_its_sender_has_surely_been_stopped() -> None:
    assert CLAIM_EXPIRY.total_seconds() >= 2 * FUNCTIONS["EmailSenderFunction"]["Timeout"]


def test_the_checker_heartbeat_alarms_when_the_checker_stops_running() -> None:
    alarm = alarm_named_by("ScheduledRuns")
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"job": "sla", "service": "prodsupport"}


@pytest.mark.parametrize(
    ("metric", "namespace"),
    [
        ("5xx", "AWS/ApiGateway"),
        ("SignatureRejections", {"Fn::Sub": "Prodsupport/${AWS::StackName}"}),
        ("Reputation.BounceRate", "AWS/SES"),
        ("Reputation.ComplaintRate", "AWS/SES"),
    ],
)
def test_the_issue_15_alarms_exist(metric: str, namespace: Any) -> None:
    assert alarm_named_by(metric)["Namespace"] == namespace


def test_the_team_config_errors_alarm_sums_every_functions_series() -> None:
    """Each function counts TeamConfigErrors under its own dimensions; one series would miss the others."""
    [query] = ALARMS["TeamConfigErrorsAlarm"]["Metrics"]
    assert query["Expression"] == {"Fn::Sub": 'SELECT SUM(TeamConfigErrors) FROM "Prodsupport/${AWS::StackName}"'}


def test_metrics_are_published_in_the_stacks_own_namespace() -> None:
    for props in FUNCTIONS.values():
        variables = props["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Fn::Sub": "Prodsupport/${AWS::StackName}"}


def test_the_sender_uses_the_stacks_ses_configuration_set() -> None:
    [configuration_set] = resources_of(DEPLOYED, "AWS::SES::ConfigurationSet").values()
    sender = FUNCTIONS["EmailSenderFunction"]["Environment"]["Variables"]
    assert sender["PRODSUPPORT_SES_CONFIGURATION_SET"] == configuration_set["Name"]
    [events] = resources_of(DEPLOYED, "AWS::SES::ConfigurationSetEventDestination").values()
    assert {"bounce", "complaint"} <= set(events["EventDestination"]["MatchingEventTypes"])


def test_the_dashboard_charts_the_business_metrics_and_shows_every_alarm() -> None:
    [dashboard] = resources_of(DEPLOYED, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["DashboardBody"]["Fn::Sub"]
    json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    for metric in ("AcksRecorded", "EmailsSent", "PagerDutyEvents", "SignatureRejections", "SlaBreachesPosted"):
        assert f'\\"{metric}\\"' in body
    for alarm in ALARMS:
        assert f"${{{alarm}.Arn}}" in body
