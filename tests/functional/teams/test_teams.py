"""Several teams in one deployment, through the handlers on emulated AWS and the recording Slack API: each
channel runs its own team's playbook, and a team's admins change only their own team."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from builders import ALERT_BOT, alert, clock_of, command_answer, payloads_of, post_slack, slack_event, table_items

from prodsupport import runtime
from prodsupport.reports.weekly import post_weekly
from prodsupport_local.cli import main as cli
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

# Monday 8:30 PM in New York (after hours), 5:30 PM in Los Angeles (business hours).
MONDAY_EVENING = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
CHECKIN = {
    "id": "checkin",
    "id_prefix": "CHK",
    "channel_id": "C0CHECKIN",
    "admin_user_ids": ["U0CHKADMIN"],
    "pm_user_id": "U0CHKPM",
}
PHARMACY = {
    "id": "pharmacy",
    "id_prefix": "PHM",
    "channel_id": "C0PHARMACY",
    "timezone": "America/Los_Angeles",
    "admin_user_ids": ["U0PHMADMIN"],
    "pm_user_id": "U0PHMPM",
}
SETTINGS = {"alert_bot_ids": [ALERT_BOT], "admin_user_ids": ["U0ADMIN"], "teams": [CHECKIN, PHARMACY]}


@pytest.fixture
def teams(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(MONDAY_EVENING)
    return stack


def command_in(stack: LocalStack, channel: str, text: str, *, user: str, name: str = "/incident") -> dict[str, Any]:
    form = {"command": name, "text": text, "user_id": user, "channel_id": channel, "trigger_id": "t.1"}
    response = post_slack(stack, "/slack/commands", urlencode(form).encode())
    assert response.status == 200, response
    return json.loads(response.body) if response.body else {}


def test_an_alert_opens_an_incident_of_its_channels_team_in_that_teams_sequence(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0CHECKIN", seq=1), "Ev1")
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PHARMACY", seq=2), "Ev2")
    slack_event(teams, alert(MONDAY_EVENING, channel="C0CHECKIN", seq=3), "Ev3")

    declared = payloads_of(slack, "incident_declared")
    assert [(p["incident_id"], p["team"], p["window"]) for p in declared] == [
        ("CHK-2026-0001", "checkin", "after_hours"),
        ("PHM-2026-0001", "pharmacy", "business"),
        ("CHK-2026-0002", "checkin", "after_hours"),
    ]


def test_the_default_teams_messages_name_it_once_the_deployment_has_teams(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PRODSUP", seq=1), "Ev1")

    (declared,) = payloads_of(slack, "incident_declared")
    assert (declared["incident_id"], declared["team"]) == ("INC-2026-0001", "default")


def test_a_command_in_a_channel_no_team_owns_is_told_so_and_changes_nothing(teams: LocalStack) -> None:
    before = table_items(teams)

    answer = command_in(teams, "C0RANDOM", "critical Kiosks down", user="U0ENG")

    assert answer["response_type"] == "ephemeral"
    assert "No team runs its playbook in <#C0RANDOM>" in answer["text"]
    assert [i for i in table_items(teams) if not i["pk"]["S"].startswith("DEDUPE#")] == [
        i for i in before if not i["pk"]["S"].startswith("DEDUPE#")
    ]


def test_an_admin_of_one_team_cannot_change_another_teams_roster(teams: LocalStack) -> None:
    answer = command_in(teams, "C0PHARMACY", "pm <@U0CHKADMIN>", user="U0CHKADMIN", name="/prodsupport")

    assert answer["text"] == "Only prodsupport admins can change the roster or the stakeholder list."
    assert runtime.current().for_team("pharmacy").roster.load().pm_user_id == "U0PHMPM"


def test_an_admin_changes_only_their_own_teams_roster(teams: LocalStack) -> None:
    command_in(teams, "C0PHARMACY", "pm <@U0NEWPM>", user="U0PHMADMIN", name="/prodsupport")

    rt = runtime.current()
    assert rt.for_team("pharmacy").roster.load().pm_user_id == "U0NEWPM"
    assert rt.for_team("checkin").roster.load().pm_user_id == "U0CHKPM"
    assert rt.roster.load().pm_user_id == ""


def test_the_incident_list_of_a_channel_is_its_teams(teams: LocalStack) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PHARMACY", seq=1), "Ev1")

    assert "PHM-2026-0001" not in command_answer(teams, "list")["text"]  # the default team's channel
    listed = command_in(teams, "C0PHARMACY", "list", user="U0ENG")["text"]
    assert "PHM-2026-0001" in listed
    assert "5:45 PM PST" in listed


def test_a_command_naming_an_incident_is_handled_with_the_incidents_team(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PHARMACY", seq=1), "Ev1")

    command_in(teams, "C0PHARMACY", "PHM-2026-0001 status Rolling back next 1h", user="U0ENG")

    (updated,) = payloads_of(slack, "incident_updated")
    assert (updated["incident_id"], updated["team"]) == ("PHM-2026-0001", "pharmacy")
    assert "PST" in slack.posts()[-1].args["text"]


def test_a_release_is_announced_listed_and_cancelled_in_its_own_teams_channel_only(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    command_in(teams, "C0PHARMACY", "Pharmacy 2026-12-22 Refill reminders", user="U0ENG", name="/release")

    (scheduled,) = payloads_of(slack, "release_scheduled")
    assert (scheduled["release_id"], scheduled["team"]) == ("REL-2026-0001", "pharmacy")
    assert slack.posts()[-1].args["channel"] == "C0PHARMACY"
    assert "REL-2026-0001" not in command_in(teams, "C0CHECKIN", "list", user="U0ENG", name="/release")["text"]
    refused = command_in(teams, "C0CHECKIN", "cancel REL-2026-0001", user="U0CHKADMIN", name="/release")
    assert "There is no release REL-2026-0001" in refused["text"]


def test_the_stakeholder_email_of_a_teams_incident_goes_to_its_stakeholders_and_is_told_in_its_thread(
    stack: LocalStack, slack: RecordingSlackApi
) -> None:
    pharmacy = {**PHARMACY, "stakeholders": ["pharmacy-sync@example.gov"], "applications": ["Pharmacy"]}
    stack.configure({**SETTINGS, "stakeholders": ["checkin-sync@example.gov"], "teams": [CHECKIN, pharmacy]})
    clock_of(stack).set(MONDAY_EVENING)
    command_in(stack, "C0PHARMACY", "critical Refills fail", user="U0PHMPM")

    command_in(stack, "C0PHARMACY", "PHM-2026-0001 email", user="U0PHMPM")
    stack.drain()

    (email,) = stack.sent_emails()
    assert (email.to, email.subject) == (("pharmacy-sync@example.gov",), "Pharmacy Production Outage 11-30-2026")
    (sent,) = payloads_of(slack, "stakeholder_email_sent")
    assert (sent["incident_id"], sent["team"]) == ("PHM-2026-0001", "pharmacy")


def test_the_app_home_shows_the_incidents_of_the_viewers_teams_only(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0CHECKIN", seq=1), "Ev1")
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PHARMACY", seq=2), "Ev2")
    for channel, members in (("C0PRODSUP", ["U0OTHER"]), ("C0CHECKIN", ["U0OTHER"]), ("C0PHARMACY", ["U0VIEWER"])):
        slack.set_members(channel, members)

    home = {"type": "app_home_opened", "user": "U0VIEWER", "channel": "DU0VIEWER", "tab": "home"}
    assert slack_event(teams, {**home, "event_ts": "1796088700.000100"}, "Ev3").status == 200

    [published] = slack.calls_to("views.publish")
    blocks = str(published.args["view"]["blocks"])
    assert "PHM-2026-0001" in blocks
    assert "CHK-2026-0001" not in blocks


def test_each_team_reads_its_own_partner_directory(stack: LocalStack) -> None:
    pharmacy = {**PHARMACY, "partners": [{"name": "Pharmacy Vendor", "slack_user_ids": ["U0VENDOR"]}]}
    stack.configure(
        {**SETTINGS, "partners": [{"name": "VEText", "slack_usergroup_id": "S0VETEXT"}], "teams": [CHECKIN, pharmacy]}
    )

    in_pharmacy = command_in(stack, "C0PHARMACY", "partners", user="U0ENG")["text"]
    in_checkin = command_in(stack, "C0CHECKIN", "partners", user="U0ENG")["text"]

    assert "Pharmacy Vendor" in in_pharmacy
    assert "VEText" not in in_pharmacy
    assert "VEText" in in_checkin  # not set by the team: the default team's directory


def test_the_report_command_reports_one_teams_incidents_in_its_zone(
    teams: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0CHECKIN", seq=1), "Ev1")
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PHARMACY", seq=2), "Ev2")
    capsys.readouterr()

    status = cli.main(
        ["report", "--from", "2026-11-30", "--to", "2026-12-07", "--format", "json", "--team", "pharmacy"]
    )

    printed = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (printed["from"], printed["incidents"]) == ("2026-11-30T08:00:00Z", 1)  # midnight in Los Angeles


def test_the_report_command_refuses_a_team_not_configured(
    teams: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "--from", "2026-11-30", "--to", "2026-12-07", "--team", "gone"]) == 2
    assert "--team: team 'gone' is not configured" in capsys.readouterr().err


def test_a_recovery_in_one_teams_channel_leaves_another_teams_incident_alone(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, "Triggered: check-in API 5xx rate above 5%", channel="C0CHECKIN"), "Ev1")

    recovery = alert(MONDAY_EVENING, "[Recovered] check-in API 5xx rate above 5%", channel="C0PHARMACY", seq=2)
    slack_event(teams, recovery, "Ev2")

    assert payloads_of(slack, "incident_updated") == []
    assert [e.kind for e in runtime.current().store.open_incidents()[0].timeline if e.kind == "alert_recovered"] == []


def github_work_of_both_teams(stack: LocalStack) -> None:
    """An open post-mortem pull request and an open action item for an incident of each team."""
    stack.configure({**SETTINGS, "github_repo": "va/postmortems"})
    table = runtime.current().table
    for incident_id, channel, number in (("CHK-2026-0001", "C0CHECKIN", 1), ("PHM-2026-0001", "C0PHARMACY", 2)):
        url = f"https://github.com/va/postmortems/pull/{number}"
        table.put({"pk": "GITHUB", "sk": f"PR#{incident_id}", "incident_id": incident_id, "url": url, "number": number})
        item = {"key": "AI-1", "description": f"fix {incident_id}", "issue_number": 10 + number}
        table.put(
            {
                "pk": "GITHUB",
                "sk": f"ITEM#{incident_id}#AI-1",
                "incident_id": incident_id,
                **item,
                "issue_url": f"https://github.com/va/postmortems/issues/{10 + number}",
                "filed_at": "2026-11-20T15:00:00Z",
                "channel_id": channel,
                "thread_ts": "1700000000.000100",
            }
        )


def test_incident_list_shows_only_the_teams_own_github_work(teams: LocalStack) -> None:
    github_work_of_both_teams(teams)

    answer = command_in(teams, "C0PHARMACY", "list", user="U0ENG")

    assert "PHM-2026-0001" in answer["text"]
    assert "CHK-2026-0001" not in answer["text"]


def test_the_weekly_report_counts_only_the_teams_own_action_items(teams: LocalStack, slack: RecordingSlackApi) -> None:
    github_work_of_both_teams(teams)

    post_weekly(runtime.current().for_team("pharmacy"), MONDAY_EVENING)

    (report,) = payloads_of(slack, "compliance_report")
    assert (report["team"], report["open_action_items"]) == ("pharmacy", 1)


def open_home(stack: LocalStack, slack: RecordingSlackApi, user: str) -> str:
    home = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"}
    assert slack_event(stack, {**home, "event_ts": "1796088700.000100"}, "EvHome").status == 200
    [published] = slack.calls_to("views.publish")
    return str(published.args["view"]["blocks"])


def test_the_app_home_leaves_out_a_team_whose_channel_slack_will_not_list(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PHARMACY", seq=2), "Ev2")
    slack.set_members("C0PHARMACY", ["U0VIEWER"])
    slack.fail_next("conversations.members", error="channel_not_found")  # the default team's channel, read first

    blocks = open_home(teams, slack, "U0VIEWER")

    assert "PHM-2026-0001" in blocks


def test_the_app_home_of_someone_in_no_teams_channel_shows_no_teams_incidents(
    teams: LocalStack, slack: RecordingSlackApi
) -> None:
    slack_event(teams, alert(MONDAY_EVENING, channel="C0PRODSUP", seq=1), "Ev1")
    for channel in ("C0PRODSUP", "C0CHECKIN", "C0PHARMACY"):
        slack.set_members(channel, ["U0OTHER"])

    blocks = open_home(teams, slack, "U0STRANGER")

    assert "INC-2026-0001" not in blocks
    assert "no team's incident channel" in blocks


def test_the_default_teams_admin_cannot_change_the_roster_of_a_team_that_names_no_admins(stack: LocalStack) -> None:
    unadministered = {"id": "vaccines", "id_prefix": "VAX", "channel_id": "C0VACCINES", "pm_user_id": "U0VAXPM"}
    stack.configure({**SETTINGS, "teams": [CHECKIN, PHARMACY, unadministered]})

    answer = command_in(stack, "C0VACCINES", "pm <@U0ADMIN>", user="U0ADMIN", name="/prodsupport")

    assert answer["text"] == "Only prodsupport admins can change the roster or the stakeholder list."
    assert runtime.current().for_team("vaccines").roster.load().pm_user_id == "U0VAXPM"


def test_a_teams_email_subject_line_is_the_subject_of_its_stakeholder_email(
    stack: LocalStack, slack: RecordingSlackApi
) -> None:
    pharmacy = {
        **PHARMACY,
        "stakeholders": ["pharmacy-sync@example.gov"],
        "applications": ["Pharmacy"],
        "email_subject": "[{id}] {application} outage of {date}",
    }
    stack.configure({**SETTINGS, "teams": [CHECKIN, pharmacy]})
    clock_of(stack).set(MONDAY_EVENING)
    command_in(stack, "C0PHARMACY", "critical Refills fail", user="U0PHMPM")

    command_in(stack, "C0PHARMACY", "PHM-2026-0001 email", user="U0PHMPM")
    stack.drain()

    (email,) = stack.sent_emails()
    assert email.subject == "[PHM-2026-0001] Pharmacy outage of 11-30-2026"
