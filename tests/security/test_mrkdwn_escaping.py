"""Text people type is echoed into the channel escaped: a title, summary, status, resolution, application
name or release summary can never ping @channel, mention someone or hide a link behind other words.

Property-based: any text made of ordinary words and Slack's control sequences goes through each command_answer
that echoes it, and no bot post in the channel (its text or its blocks) carries a control sequence the
person typed. PagerDuty titles are covered by tests/functional/pagerduty/test_pagerduty_webhook.py.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from builders import SETTINGS, WEDNESDAY_10_ET, channel_posts, clock_of, command_answer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodsupport.core.mrkdwn import escape_mrkdwn
from prodsupport_local.emulator.stack import LocalStack

# Sequences Slack acts on in mrkdwn, none of which the bot itself ever writes.
CONTROL = ["<!channel>", "<!here>", "<!everyone>", "<@U0EVE>", "<https://evil.example|click here>", "<#C0OTHER>"]
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible, a failure replays
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TYPED = st.lists(
    st.sampled_from(CONTROL) | st.sampled_from(["Kiosks", "down", "&", "*bold*", "_x_", ">quote"]),
    min_size=1,
    max_size=6,
).map(" ".join)
ECHOING = {
    "summary": "{id} summary {text}",
    "impact": "{id} impact {text}",
    "status": "{id} status {text}",
    "apps": "{id} apps {text}, Travel Pay",
    "resolve": "{id} resolve {text}",
}


def as_typed(text: str) -> str:
    """Slack sends `&`, `<` and `>` in command text as entities; the command unescapes them once."""
    return escape_mrkdwn(text)


def assert_no_control_sequence(stack: LocalStack) -> None:
    seen = json.dumps(channel_posts(stack.slack))
    assert [sequence for sequence in CONTROL if json.dumps(sequence)[1:-1] in seen] == []


@pytest.fixture
def declared(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    return stack


def declare(stack: LocalStack, title: str = "Kiosks down") -> str:
    """A fresh incident for each example (one resolve each); returns its id."""
    clock_of(stack).advance(timedelta(minutes=1))
    declared_id = re.search(r"INC-\d{4}-\d{4}", command_answer(stack, f"major {title}")["text"])
    assert declared_id is not None
    return declared_id.group(0)


@pytest.mark.parametrize("verb", ECHOING)
@PROPERTY
@given(text=TYPED)
def test_text_set_on_an_incident_is_echoed_escaped(declared: LocalStack, verb: str, text: str) -> None:
    incident_id = declare(declared)
    before = len(declared.slack.posts())

    command_answer(declared, ECHOING[verb].format(id=incident_id, text=as_typed(text)))

    assert len(declared.slack.posts()) > before, "the command posted nothing, so the check would prove nothing"
    assert_no_control_sequence(declared)


@PROPERTY
@given(text=TYPED)
def test_a_declared_title_is_echoed_escaped_on_the_card(declared: LocalStack, text: str) -> None:
    declare(declared, as_typed(text))

    assert_no_control_sequence(declared)


@PROPERTY
@given(text=TYPED)
def test_a_release_summary_is_echoed_escaped(declared: LocalStack, text: str) -> None:
    clock_of(declared).advance(timedelta(minutes=1))

    command_answer(declared, f"Check-In Experience 2026-12-30 {as_typed(text)}", name="/release")

    assert_no_control_sequence(declared)
