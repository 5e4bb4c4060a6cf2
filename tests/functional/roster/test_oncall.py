"""Who is on call: PagerDuty's REST API (the recording one) mapped to Slack by email, cached, with a fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from prodsupport import runtime
from prodsupport.roster.oncall import oncall_user
from prodsupport_local.emulator.stack import LocalStack
from prodsupport_local.fakes.recording_pagerduty import RecordingPagerDutyApi

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
POLICY = "PEP0CHK1"


@pytest.fixture
def pagerduty(stack: LocalStack) -> RecordingPagerDutyApi:
    """PagerDuty configured with Ana on call (Slack U0ANA) and U0FALLBACK as the static fallback."""
    stack.configure({"pagerduty_escalation_policy_id": POLICY, "oncall_user_id": "U0FALLBACK"})
    assert stack.pagerduty is not None
    stack.pagerduty.set_oncall(POLICY, "PUSR0ANA", "ana@va.gov", "Ana Oncall")
    stack.slack.set_user("U0ANA", email="ana@va.gov")
    return stack.pagerduty


def test_without_an_escalation_policy_the_fallback_is_on_call(stack: LocalStack) -> None:
    stack.configure({"oncall_user_id": "U0FALLBACK"})
    assert oncall_user(runtime.current(), NOW) == "U0FALLBACK"
    assert stack.pagerduty is not None
    assert stack.pagerduty.calls == []


def test_the_oncall_is_pagerdutys_user_found_in_slack_by_email(pagerduty: RecordingPagerDutyApi) -> None:
    assert oncall_user(runtime.current(), NOW) == "U0ANA"


def test_the_lookup_asks_for_the_policys_earliest_oncall_with_the_api_token(
    pagerduty: RecordingPagerDutyApi,
) -> None:
    oncall_user(runtime.current(), NOW)
    (oncalls,) = pagerduty.calls_to("/oncalls")
    assert oncalls.ok
    assert oncalls.query == {"escalation_policy_ids[]": [POLICY], "earliest": ["true"]}


def test_the_first_escalation_level_is_the_one_named(pagerduty: RecordingPagerDutyApi, stack: LocalStack) -> None:
    pagerduty.set_oncall(POLICY, "PUSR0BEN", "ben@va.gov", "Ben Backup", escalation_level=2)
    stack.slack.set_user("U0BEN", email="ben@va.gov")
    assert oncall_user(runtime.current(), NOW) == "U0ANA"


def test_the_answer_is_cached_for_the_configured_time(pagerduty: RecordingPagerDutyApi) -> None:
    rt = runtime.current()
    oncall_user(rt, NOW)
    pagerduty.set_oncall(POLICY, "PUSR0BEN", "ben@va.gov", "Ben Backup")
    assert oncall_user(rt, NOW + timedelta(seconds=299)) == "U0ANA"
    assert len(pagerduty.calls_to("/oncalls")) == 1


def test_after_the_cache_time_pagerduty_is_asked_again(pagerduty: RecordingPagerDutyApi, stack: LocalStack) -> None:
    rt = runtime.current()
    oncall_user(rt, NOW)
    pagerduty.set_oncall(POLICY, "PUSR0BEN", "ben@va.gov", "Ben Backup")
    stack.slack.set_user("U0BEN", email="ben@va.gov")
    assert oncall_user(rt, NOW + timedelta(seconds=300)) == "U0BEN"


def test_when_pagerduty_fails_the_fallback_is_on_call(pagerduty: RecordingPagerDutyApi) -> None:
    pagerduty.fail_next("/oncalls", status=500)
    assert oncall_user(runtime.current(), NOW) == "U0FALLBACK"


def test_when_pagerduty_is_unreachable_the_fallback_is_on_call(pagerduty: RecordingPagerDutyApi) -> None:
    rt = runtime.current()
    pagerduty.stop()  # its port now refuses connections
    try:
        assert oncall_user(rt, NOW) == "U0FALLBACK"
    finally:
        pagerduty.start()  # the session's stack resets it for the next test


def test_a_failed_lookup_is_not_cached(pagerduty: RecordingPagerDutyApi) -> None:
    rt = runtime.current()
    pagerduty.fail_next("/oncalls", status=500)
    oncall_user(rt, NOW)
    assert oncall_user(rt, NOW + timedelta(seconds=1)) == "U0ANA"


def test_when_slack_has_nobody_with_that_email_the_fallback_is_on_call(stack: LocalStack) -> None:
    stack.configure({"pagerduty_escalation_policy_id": POLICY, "oncall_user_id": "U0FALLBACK"})
    assert stack.pagerduty is not None
    stack.pagerduty.set_oncall(POLICY, "PUSR0ANA", "ana@va.gov", "Ana Oncall")
    assert oncall_user(runtime.current(), NOW) == "U0FALLBACK"


def test_when_nobody_is_on_call_the_fallback_is_on_call(stack: LocalStack) -> None:
    stack.configure({"pagerduty_escalation_policy_id": POLICY, "oncall_user_id": "U0FALLBACK"})
    assert oncall_user(runtime.current(), NOW) == "U0FALLBACK"
