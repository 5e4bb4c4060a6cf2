"""Every command's text, malformed on purpose or arbitrary: never a 500, never a partial write, always an
ephemeral answer that says what was expected.

Property-based (hypothesis). An incident exists, so text aimed at it reaches the verb parsers. Arbitrary
text may be a valid command, so for it the property is "answered"; text built to be malformed must also
leave every item as it was.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from builders import SETTINGS, WEDNESDAY_10_ET, answer_text, clock_of, slack_command, state
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prodsupport_local.emulator.stack import LocalStack

INC = "INC-2026-0001"
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible, a failure replays
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
USERS = st.sampled_from(["U0ONCALL", "U0ADMIN", "U0PM", "U0EVE"])
COMMANDS = st.sampled_from(["/incident", "/prodsupport", "/release"])
# Words, Slack's escapes, control characters and very long runs: what people (and paste buffers) send.
WORDS = st.sampled_from(
    [
        INC,
        "critical",
        "major",
        "summary",
        "status",
        "next",
        "2h",
        "14:00",
        "link",
        "email",
        "resolve",
        "postmortem",
        "scheduled",
        "held",
        "shared",
        "pm",
        "backup",
        "ooo",
        "on",
        "stakeholders",
        "add",
        "remove",
        "list",
        "cancel",
        "2026-12-01",
        "<@U0EVE|eve>",
        "<https://x.example|x>",
        "<mailto:a@b.gov|a@b.gov>",
        "&lt;",
        "*",
        "`",
        "\u200b",
    ]
)
TEXT = st.lists(WORDS | st.text(max_size=30), max_size=8).map(" ".join) | st.text(max_size=3000)
JUNK = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    clock_of(stack).set(WEDNESDAY_10_ET)
    assert "Declared" in answer_text(slack_command(stack, "critical Kiosks cannot check Veterans in"))
    return stack


def run(stack: LocalStack, text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> dict[str, Any]:
    clock_of(stack).advance(timedelta(minutes=1))
    response = slack_command(stack, text, user=user, name=name)
    assert response.status == 200, (response.status, response.body[:300])
    assert stack.failures == []
    return json.loads(response.body) if response.body else {}


def assert_refused(stack: LocalStack, text: str, *, user: str = "U0ONCALL", name: str = "/incident") -> str:
    before = state(stack)
    answer = run(stack, text, user=user, name=name)
    assert answer.get("response_type") == "ephemeral"
    assert answer["text"].strip()
    assert state(stack) == before
    return str(answer["text"])


@PROPERTY
@given(name=COMMANDS, text=TEXT, user=USERS)
def test_any_text_to_any_command_is_answered_never_a_500(
    configured: LocalStack, name: str, text: str, user: str
) -> None:
    views_before = len(configured.slack.calls_to("views.open"))

    answer = run(configured, text, user=user, name=name)

    opened_a_form = len(configured.slack.calls_to("views.open")) > views_before
    assert opened_a_form or str(answer.get("text", "")).strip()


@PROPERTY
@given(word=JUNK)
def test_an_unknown_first_word_is_refused_with_the_usage(configured: LocalStack, word: str) -> None:
    first = word.split(maxsplit=1)[0]
    assume(first.lower() not in {"help", "list", "critical", "major", "minor"} and not first.upper().startswith("INC-"))

    text = assert_refused(configured, word)

    assert "/incident &lt;critical|major|minor&gt; &lt;title&gt;" in text


@PROPERTY
@given(verb=JUNK, rest=st.text(max_size=40))
def test_an_unknown_verb_on_an_incident_is_refused_with_the_usage(configured: LocalStack, verb: str, rest: str) -> None:
    word = verb.split(maxsplit=1)[0]
    known = {"summary", "impact", "apps", "severity", "status", "resolve", "link", "email", "postmortem"}
    assume(word.lower() not in known)

    text = assert_refused(configured, f"{INC} {word} {rest}")

    assert "is not something I can do" in text


@PROPERTY
@given(severity=JUNK)
def test_a_severity_that_is_none_of_the_three_is_refused(configured: LocalStack, severity: str) -> None:
    assume(severity.split(maxsplit=1)[0].lower() not in {"critical", "major", "minor"})

    text = assert_refused(configured, f"{INC} severity {severity}")

    assert "expected critical, major or minor" in text


@PROPERTY
@given(target=JUNK)
def test_a_link_to_something_that_is_no_pagerduty_incident_is_refused(configured: LocalStack, target: str) -> None:
    token = target.split(maxsplit=1)[0]
    assume("/incidents/" not in token.lower() and not token.strip("<>").upper().isalnum())

    text = assert_refused(configured, f"{INC} link {target}")

    assert "is not a PagerDuty incident id or URL" in text


@PROPERTY
@given(day=JUNK, hour=JUNK)
def test_a_postmortem_time_that_is_no_date_is_refused(configured: LocalStack, day: str, hour: str) -> None:
    assume(len(day.split()) == 1 and len(hour.split()) == 1)

    text = assert_refused(configured, f"{INC} postmortem scheduled {day} {hour} U0ONE")

    assert "is not `YYYY-MM-DD HH:MM` (ET)" in text or "is not a post-mortem checkpoint" in text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("critical", "The title is missing"),
        (f"{INC}", "What should I do with"),
        (f"{INC} summary", "The summary is missing"),
        (f"{INC} apps , ,", "The applications are missing"),
        (f"{INC} status Working on it next 0m", "positive duration"),
        (f"{INC} status Working on it next 25:00", "is not a time"),
        (f"{INC} postmortem", "Which checkpoint?"),
        (f"{INC} postmortem shared", "link is missing"),
        ("INC-2026-0042 summary Kiosks down", "There is no incident INC-2026-0042"),
    ],
)
def test_a_command_missing_its_argument_says_what_is_missing(configured: LocalStack, text: str, says: str) -> None:
    assert says in assert_refused(configured, text)


@PROPERTY
@given(user=JUNK)
def test_a_roster_change_naming_no_user_is_refused(configured: LocalStack, user: str) -> None:
    assume(not user.strip().lstrip("@<").upper().startswith(("U", "W")))

    text = assert_refused(configured, f"pm {user}", user="U0ADMIN", name="/prodsupport")

    assert "Usage: `/prodsupport pm @user`" in text


@PROPERTY
@given(address=JUNK)
def test_a_stakeholder_that_is_no_email_address_is_refused(configured: LocalStack, address: str) -> None:
    assume("@" not in address)

    text = assert_refused(configured, f"stakeholders add {address}", user="U0ADMIN", name="/prodsupport")

    assert "is not an email address" in text or "Usage: `/prodsupport stakeholders add <email>" in text


@PROPERTY
@given(day=JUNK)
def test_a_release_date_that_is_no_date_is_refused(configured: LocalStack, day: str) -> None:
    token = day.split(maxsplit=1)[0]
    assume(not token[:1].isdigit())

    text = assert_refused(configured, f"Check-In Experience {token} Kiosk update", name="/release")

    assert text.strip()
