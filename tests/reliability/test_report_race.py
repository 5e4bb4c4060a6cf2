"""The scheduler may deliver the weekly report's run and the monthly outlook's run twice at once: each is
posted (and the outlook emailed) once. The runs are the real handler in two processes, as two Lambda
containers, against the local DynamoDB, whose conditional writes are atomic (test_moto_atomicity.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import SETTINGS, WEDNESDAY_10_ET, alert, clock_of, posts_of, reply, slack_event

from prodsupport.core.timefmt import to_iso
from prodsupport_local.emulator.processes import Invoke, run_together
from prodsupport_local.emulator.stack import LocalStack

MONDAY_9_ET = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
DECEMBER_1_9_ET = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure({**SETTINGS, "leadership_emails": ["octo-lead@example.gov"]})
    clock = clock_of(stack)
    clock.set(WEDNESDAY_10_ET)
    root = alert(WEDNESDAY_10_ET)
    assert slack_event(stack, root, "Ev0ALERT").status == 200
    clock.set(WEDNESDAY_10_ET + timedelta(minutes=20))
    assert slack_event(stack, reply(str(root["ts"]), clock()), "Ev0REPLY").status == 200
    return stack


def test_two_weekly_runs_at_once_post_one_report_and_one_chart(configured: LocalStack) -> None:
    run = Invoke("ReportsFunction", {"time": to_iso(MONDAY_9_ET), "job": "compliance_report"}, MONDAY_9_ET)

    outcomes = run_together(configured, [run, run])

    assert [outcome.error for outcome in outcomes] == ["", ""]
    assert len(posts_of(configured.slack, "compliance_report")) == 1
    assert len([call for call in configured.slack.calls_to("files.completeUploadExternal") if call.ok]) == 1


def test_two_monthly_runs_at_once_post_one_outlook_and_email_it_once(configured: LocalStack) -> None:
    run = Invoke("ReportsFunction", {"time": to_iso(DECEMBER_1_9_ET), "job": "monthly_outlook"}, DECEMBER_1_9_ET)

    outcomes = run_together(configured, [run, run])
    configured.drain()

    assert [outcome.error for outcome in outcomes] == ["", ""]
    assert len(posts_of(configured.slack, "release_outlook")) == 1
    assert [email.to for email in configured.sent_emails()] == [("octo-lead@example.gov",)]
