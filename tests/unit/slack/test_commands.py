"""The /incident and /prodsupport text interface, as docs/design.md#commands lists it."""

from datetime import UTC, datetime, time, timedelta

import pytest

from prodsupport.core.errors import UserError
from prodsupport.core.timefmt import ET
from prodsupport.incident.model import Severity
from prodsupport.incident.next_update import NextUpdate
from prodsupport.postmortem.model import PostmortemCheckpoint
from prodsupport.slack.commands import (
    Declare,
    Help,
    LinkPagerDuty,
    ListIncidents,
    OpenDeclareForm,
    Resolve,
    SendEmail,
    SetApplications,
    SetField,
    SetSeverity,
    StatusUpdate,
    parse_incident,
    parse_prodsupport,
)


def test_empty_text_opens_the_declare_form() -> None:
    assert parse_incident("") == OpenDeclareForm()


@pytest.mark.parametrize("text", ["help", "HELP"])
def test_help_shows_usage(text: str) -> None:
    assert isinstance(parse_incident(text), Help)


def test_list_lists_open_incidents() -> None:
    assert parse_incident("list") == ListIncidents()


def test_severity_and_title_declare_an_incident() -> None:
    assert parse_incident("critical Check-in kiosk returns 500s") == Declare(
        Severity.CRITICAL, "Check-in kiosk returns 500s"
    )


def test_a_severity_without_a_title_is_refused_with_the_usage() -> None:
    with pytest.raises(UserError, match="title is missing"):
        parse_incident("major")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INC-2026-0001 summary Kiosks fail", SetField("INC-2026-0001", "summary", "Kiosks fail")),
        ("inc-2026-0001 impact Veterans wait", SetField("INC-2026-0001", "business_impact", "Veterans wait")),
        (
            "INC-2026-0001 apps Pre-Check-In, Travel Pay",
            SetApplications("INC-2026-0001", ("Pre-Check-In", "Travel Pay")),
        ),
        ("INC-2026-0001 severity critical", SetSeverity("INC-2026-0001", Severity.CRITICAL)),
        ("INC-2026-0001 resolve Rolled back", Resolve("INC-2026-0001", "Rolled back")),
        ("INC-2026-0001 email", SendEmail("INC-2026-0001")),
    ],
)
def test_incident_verbs_set_their_field(text: str, expected: object) -> None:
    assert parse_incident(text) == expected


def test_a_status_may_promise_the_next_update_after_a_duration() -> None:
    assert parse_incident("INC-2026-0001 status Rolling back next 2h") == StatusUpdate(
        "INC-2026-0001", "Rolling back", NextUpdate(after=timedelta(hours=2))
    )


def test_a_status_may_promise_the_next_update_at_an_et_time() -> None:
    parsed = parse_incident("INC-2026-0001 status Rolling back next 14:00")
    assert parsed == StatusUpdate("INC-2026-0001", "Rolling back", NextUpdate(at_local=time(14, 0)))


def test_a_promised_et_time_already_past_today_means_tomorrow() -> None:
    now = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # 15:00 EST
    due = NextUpdate(at_local=time(14, 0)).resolve(now, now.astimezone(ET))
    assert due == datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def test_an_impossible_promised_time_is_refused() -> None:
    with pytest.raises(UserError, match="not a time"):
        parse_incident("INC-2026-0001 status Working next 25:00")


@pytest.mark.parametrize(
    ("target", "pd_id"),
    [
        ("Q1W2E3R4T5", "Q1W2E3R4T5"),
        ("<https://va.pagerduty.com/incidents/Q1W2E3R4T5|Q1W2E3R4T5>", "Q1W2E3R4T5"),
        ("https://va.pagerduty.com/incidents/Q1W2E3R4T5", "Q1W2E3R4T5"),
    ],
)
def test_link_accepts_a_pagerduty_id_or_an_escaped_url(target: str, pd_id: str) -> None:
    parsed = parse_incident(f"INC-2026-0001 link {target}")
    assert isinstance(parsed, LinkPagerDuty)
    assert parsed.pagerduty_id == pd_id


def test_postmortem_scheduled_takes_an_et_time_and_attendees() -> None:
    parsed = parse_incident("INC-2026-0001 postmortem scheduled 2026-12-01 10:30 <@U1|ann> <@U2>")
    assert parsed == PostmortemCheckpoint(
        "INC-2026-0001",
        "scheduled",
        datetime(2026, 12, 1, 10, 30),
        ("<@U1|ann>", "<@U2>"),
    )


def test_postmortem_shared_accepts_an_escaped_link() -> None:
    parsed = parse_incident("INC-2026-0001 postmortem shared <https://github.com/x/pm.md|pm>")
    assert parsed == PostmortemCheckpoint("INC-2026-0001", "shared", url="https://github.com/x/pm.md")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("frobnicate", "didn't understand"),
        ("INC-2026-0001", "What should I do"),
        ("INC-2026-0001 explode", "not something I can do"),
        ("INC-2026-0001 severity huge", "not a severity"),
        ("INC-2026-0001 postmortem scheduled tomorrow noon", "YYYY-MM-DD HH:MM"),
        ("INC-2026-0001 link not-a-pd-thing!", "not a PagerDuty incident"),
    ],
)
def test_text_that_does_not_parse_says_what_was_expected(text: str, complaint: str) -> None:
    with pytest.raises(UserError, match=complaint):
        parse_incident(text)


@pytest.mark.parametrize("token", ["<@U0PM|pat>", "<@U0PM>", "@U0PM", "U0PM"])
def test_roster_accepts_users_in_every_form_slack_sends(token: str) -> None:
    assert parse_prodsupport(f"pm {token}").user_id == "U0PM"


def test_stakeholders_add_accepts_mailto_links_and_commas() -> None:
    change = parse_prodsupport("stakeholders add <mailto:A@va.gov|A@va.gov>, b@va.gov")
    assert change.emails == ("a@va.gov", "b@va.gov")


def test_a_stakeholder_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(UserError, match="not an email address"):
        parse_prodsupport("stakeholders add someone")


def test_ooo_needs_on_or_off() -> None:
    with pytest.raises(UserError, match="ooo on"):
        parse_prodsupport("ooo maybe")


def test_text_slack_escaped_is_taken_as_typed() -> None:
    assert parse_incident("INC-2026-0001 summary Kiosk &amp; tablet show &lt;500&gt;") == SetField(
        "INC-2026-0001", "summary", "Kiosk & tablet show <500>"
    )


@pytest.mark.parametrize("promise", ["next 99999999h", "next 10081m", "next 169h"])
def test_a_promise_beyond_seven_days_is_refused(promise: str) -> None:
    with pytest.raises(UserError, match="at most 7 days"):
        parse_incident(f"INC-2026-0001 status Working {promise}")


def test_a_postmortem_date_out_of_any_calendar_is_refused() -> None:
    with pytest.raises(UserError, match="not a date a post-mortem can be held on"):
        parse_incident("INC-2026-0001 postmortem scheduled 9999-12-31 23:59 a@va.gov:client")


def test_text_longer_than_a_field_holds_is_refused() -> None:
    with pytest.raises(UserError, match="keep it under 3000"):
        parse_incident("INC-2026-0001 summary " + "x" * 3001)


@pytest.mark.parametrize("promise", ["next 2:30pm", "next 3pm", "next 2days"])
def test_a_promise_that_does_not_parse_is_refused_not_kept_as_text(promise: str) -> None:
    with pytest.raises(UserError, match="`next` takes a duration or an ET time"):
        parse_incident(f"INC-2026-0001 status Still degraded {promise}")


def test_next_steps_in_a_status_are_just_text() -> None:
    parsed = parse_incident("INC-2026-0001 status Rolled back; next step is the fix")
    assert parsed == StatusUpdate("INC-2026-0001", "Rolled back; next step is the fix")
