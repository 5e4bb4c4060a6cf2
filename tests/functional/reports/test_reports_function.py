"""The reports function through the stack: the weekly compliance report with its chart, the monthly outlook
and `prodsupport report --format html`, on moto, the recording Slack API and the real email path."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from builders import alert, reply, slack_event

from prodsupport_local.cli import main as cli
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi, SlackCall

CHANNEL = DEFAULT_SETTINGS["channel_id"]
LEADERSHIP = ["octo-lead@va.example.gov", "vtp-lead@va.example.gov"]
SETTINGS = {
    **DEFAULT_SETTINGS,
    "alert_bot_ids": ["B0DATADOG"],
    "oncall_user_id": "U0ONCALL",
    "applications": ["Check-In Experience", "Pre-Check-In"],
    "leadership_emails": LEADERSHIP,
}
WEDNESDAY_10_ET = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wed 11/25/2026 10:00 AM EST
MONDAY_9_ET = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # the weekly rule
DECEMBER_1_9_ET = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # the monthly rule: Tue 12/01/2026, a weekday
WEEKLY = {"time": "2026-11-30T14:00:00Z", "job": "compliance_report"}
MONTHLY = {"time": "2026-12-01T14:00:00Z", "job": "monthly_outlook"}


@pytest.fixture
def configured(stack: LocalStack, clock: VirtualClock) -> LocalStack:
    stack.configure(SETTINGS)
    return stack


@pytest.fixture
def late_ack(configured: LocalStack, clock: VirtualClock) -> None:
    """Last week: an alert acknowledged 20 minutes later, 5 past its 15-minute window."""
    clock.set(WEDNESDAY_10_ET)
    root = alert(WEDNESDAY_10_ET)
    assert slack_event(configured, root, "Ev0ALERT").status == 200
    clock.set(WEDNESDAY_10_ET + timedelta(minutes=20))
    assert slack_event(configured, reply(str(root["ts"]), clock()), "Ev0REPLY").status == 200


def parse_page(text: str) -> ET.Element:
    """A strict XML parser: an unclosed or mis-nested tag fails here. The page is this package's own output."""
    return ET.fromstring(text)  # noqa: S314 - our own page, in a test


def posts_of(slack: RecordingSlackApi, event_type: str) -> list[SlackCall]:
    return [call for call in slack.posts() if (call.args.get("metadata") or {}).get("event_type") == event_type]


def uploads(slack: RecordingSlackApi) -> list[SlackCall]:
    return [call for call in slack.calls_to("files.completeUploadExternal") if call.ok]


def run(stack: LocalStack, clock: VirtualClock, at: datetime, event: dict[str, Any] | None = None) -> None:
    """The scheduler's rules of minute `at` (tick), or one delivery of `event` to the reports function."""
    clock.set(at)
    if event is None:
        stack.tick(at)
    else:
        stack.invoke("ReportsFunction", event)
        stack.drain()


# --- the handler's events ------------------------------------------------------------------------------


def test_given_a_job_of_the_sla_checker_when_invoked_then_it_fails_saying_which_jobs_it_runs(
    configured: LocalStack,
) -> None:
    with pytest.raises(ValueError, match="unknown job 'sla'; expected one of compliance_report, monthly_outlook"):
        configured.invoke("ReportsFunction", {"time": "2026-11-30T14:00:00Z", "job": "sla"})


# --- the weekly report with its chart -------------------------------------------------------------------


@pytest.mark.usefixtures("late_ack")
def test_given_last_weeks_incidents_when_the_monday_rule_fires_then_the_report_text_keeps_its_numbers(
    configured: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    run(configured, clock, MONDAY_9_ET)

    [report] = posts_of(slack, "compliance_report")
    assert report.args["metadata"]["event_payload"] == {
        "from": "2026-11-23T05:00:00Z",
        "to": "2026-11-30T05:00:00Z",
        "incidents": 1,
        "breaches": 1,
    }
    [block] = report.args["blocks"]
    assert "| Slack acknowledgement | 0 of 1 (0%) | 1 | 0 | 0 | 20 min | 20 min |" in block["text"]


@pytest.mark.usefixtures("late_ack")
def test_given_last_weeks_incidents_when_the_monday_rule_fires_then_the_chart_is_uploaded_to_the_channel_as_a_png(
    configured: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    run(configured, clock, MONDAY_9_ET)

    [upload] = uploads(slack)
    assert upload.args["channel_id"] == CHANNEL
    [entry] = upload.args["files"]
    assert entry["title"] == "Playbook compliance Mon 11/23/2026 to Sun 11/29/2026"
    png = slack.uploaded_file(entry["id"])
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 10_000 < len(png) < 300_000


@pytest.mark.usefixtures("late_ack")
def test_given_the_weekly_run_delivered_twice_then_the_report_and_its_chart_are_posted_once(
    configured: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    run(configured, clock, MONDAY_9_ET)
    run(configured, clock, MONDAY_9_ET + timedelta(minutes=2), WEEKLY)  # the scheduler's retry, late

    assert len(posts_of(slack, "compliance_report")) == 1
    assert len(uploads(slack)) == 1


@pytest.mark.usefixtures("late_ack")
def test_given_the_upload_failed_when_the_run_is_retried_then_only_the_chart_is_sent_again(
    configured: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    slack.fail_next("files.completeUploadExternal", status=500, times=3)  # every attempt slack_sdk makes
    clock.set(MONDAY_9_ET)
    with pytest.raises(Exception, match="internal_error"):
        configured.invoke("ReportsFunction", WEEKLY)

    run(configured, clock, MONDAY_9_ET + timedelta(minutes=1), WEEKLY)

    assert len(posts_of(slack, "compliance_report")) == 1
    assert len(uploads(slack)) == 1


# --- the monthly outlook --------------------------------------------------------------------------------


@pytest.fixture
def announce(
    configured: LocalStack, clock: VirtualClock, signed_slack_request: Callable[..., Any]
) -> Callable[..., None]:
    def _announce(text: str, at: datetime) -> None:
        clock.set(at)
        body = urlencode({"command": "/release", "text": text, "user_id": "U0PM", "channel_id": CHANNEL})
        signed = signed_slack_request(body, at)
        assert configured.request("POST", "/slack/commands", signed.headers, signed.body).status == 200

    return _announce


@pytest.mark.usefixtures("late_ack")
def test_given_releases_and_last_months_incidents_when_the_monthly_rule_fires_twice_then_it_is_posted_and_emailed_once(
    configured: LocalStack, clock: VirtualClock, slack: RecordingSlackApi, announce: Callable[..., None]
) -> None:
    announce("Pre-Check-In 2026-12-08 Travel pay claims", WEDNESDAY_10_ET + timedelta(hours=1))
    announce("Pre-Check-In 2027-01-12 Next year", WEDNESDAY_10_ET + timedelta(hours=2))

    run(configured, clock, DECEMBER_1_9_ET)
    run(configured, clock, DECEMBER_1_9_ET + timedelta(minutes=1), MONTHLY)  # a second delivery of the run

    [posted] = posts_of(slack, "release_outlook")
    payload = posted.args["metadata"]["event_payload"]
    assert payload["month"] == "2026-12"
    assert [r["release_id"] for r in payload["releases"]] == ["REL-2026-0001"]
    assert (payload["last_month"]["incidents"], payload["last_month"]["breaches"]) == (1, 1)
    [sent] = configured.sent_emails()
    assert sent.to == tuple(LEADERSHIP)
    assert sent.subject == "Check-In Experience Monthly Outlook December 2026"
    assert "Travel pay claims" in (sent.text or "")


def test_given_no_leadership_list_when_the_monthly_rule_fires_then_it_is_posted_and_not_emailed(
    configured: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    configured.configure({**SETTINGS, "leadership_emails": []})

    run(configured, clock, DECEMBER_1_9_ET)

    [posted] = posts_of(slack, "release_outlook")
    assert "No releases are scheduled." in posted.args["text"]
    assert configured.sent_emails() == []


# --- the HTML page --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("late_ack")
def test_given_last_weeks_incidents_when_the_report_command_writes_html_then_it_is_one_self_contained_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()

    status = cli.main(
        ["report", "--from", "2026-11-23", "--to", "2026-11-30", "--format", "html", "--as-of", "2026-11-30T14:00:00Z"]
    )

    page = capsys.readouterr().out
    assert status == 0
    root = parse_page(page)
    [image] = root.iter("img")
    assert image.get("src", "").startswith("data:image/png;base64,")
    assert [element.get("href") for element in root.iter() if element.get("href")] == []
    assert "INC-2026-0001" in page
    assert json.dumps("http") not in page
