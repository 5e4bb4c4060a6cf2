"""Releases without AWS or Slack: the /release text, the notice the playbook asks for, the calendar, the email.

Every date is a real one (2026 Independence Day falls on a Saturday, observed Friday the 3rd); the wall
clock is never read.
"""

import re
from datetime import UTC, date, datetime

import pytest

from prodsupport.core.calendar import CalendarConfig, PlaybookCalendar
from prodsupport.release.model import (
    Announce,
    CancelRelease,
    ListReleases,
    OpenReleaseForm,
    Release,
    ReleaseHelp,
    ReleaseInputError,
    ReleaseStatus,
    check_link,
    day_warning,
    format_release_id,
    parse_release,
    release_email,
)

APPS = ("Check-In Experience", "Check-In", "Pre-Check-In", "Travel Pay")
WEDNESDAY = date(2026, 6, 10)


@pytest.fixture
def calendar() -> PlaybookCalendar:
    return PlaybookCalendar()


def release(*, day: date = WEDNESDAY, announced_at: datetime, **fields: str) -> Release:
    return Release(
        id="REL-2026-0001",
        application=fields.get("application", "Check-In Experience"),
        date=day,
        summary=fields.get("summary", "Kiosk check-in for travel claims."),
        notes=fields.get("notes", ""),
        link=fields.get("link", ""),
        announced_at=announced_at,
        announced_by="U0PM",
    )


# --- parsing the command ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "new", "NEW"])
def test_given_no_arguments_or_new_when_parsed_then_the_form_opens(text: str) -> None:
    assert parse_release(text, APPS) == OpenReleaseForm()


def test_given_list_when_parsed_then_the_releases_are_listed() -> None:
    assert parse_release("list", APPS) == ListReleases()


def test_given_help_when_parsed_then_the_usage_is_shown() -> None:
    assert parse_release("help", APPS) == ReleaseHelp()


def test_given_a_multi_word_application_in_another_case_when_parsed_then_the_configured_spelling_is_kept() -> None:
    parsed = parse_release("check-in experience 2026-06-10 Kiosk check-in for travel claims", APPS)

    assert parsed == Announce("Check-In Experience", WEDNESDAY, "Kiosk check-in for travel claims")


def test_given_applications_sharing_a_prefix_when_parsed_then_the_longest_name_wins() -> None:
    parsed = parse_release("Check-In Experience 2026-06-10 summary", ("Check-In", "Check-In Experience"))

    assert isinstance(parsed, Announce)
    assert parsed.application == "Check-In Experience"


def test_given_a_shorter_configured_name_when_it_is_followed_by_the_date_then_it_matches() -> None:
    parsed = parse_release("CHECK-IN 2026-06-10 summary", APPS)

    assert isinstance(parsed, Announce)
    assert parsed.application == "Check-In"


def test_given_an_unconfigured_application_when_parsed_then_the_first_word_is_the_application() -> None:
    parsed = parse_release("VEText 2026-06-10 Reminder texts move to the new sender", APPS)

    assert parsed == Announce("VEText", WEDNESDAY, "Reminder texts move to the new sender")


def test_given_slack_escaped_characters_when_parsed_then_the_summary_keeps_what_was_typed() -> None:
    parsed = parse_release("Travel Pay 2026-06-10 Mileage &amp; tolls &lt;beta&gt;", APPS)

    assert isinstance(parsed, Announce)
    assert parsed.summary == "Mileage & tolls <beta>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-06-10 summary", "application is missing"),
        ("Travel Pay", "date is missing"),
        ("Travel Pay 06/10/2026 summary", "is not a date; use YYYY-MM-DD"),
        ("Travel Pay 2026-02-30 summary", "`2026-02-30` is not a date"),
        ("Travel Pay 2026-06-10", "summary is missing"),
        ("cancel", "Usage: `/release cancel <REL-YYYY-NNNN>`"),
        ("cancel INC-2026-0001", "Usage: `/release cancel <REL-YYYY-NNNN>`"),
    ],
    ids=["no-application", "no-date", "us-date", "impossible-date", "no-summary", "cancel-no-id", "cancel-wrong-id"],
)
def test_given_incomplete_text_when_parsed_then_the_error_says_what_was_expected(text: str, expected: str) -> None:
    with pytest.raises(ReleaseInputError, match=re.escape(expected)):
        parse_release(text, APPS)


def test_given_an_overlong_summary_when_parsed_then_it_is_refused() -> None:
    with pytest.raises(ReleaseInputError, match="keep it under 1000"):
        parse_release("Travel Pay 2026-06-10 " + "x" * 1001, APPS)


def test_given_a_lower_case_release_id_when_cancelled_then_the_id_is_normalised() -> None:
    assert parse_release("cancel rel-2026-0007", APPS) == CancelRelease("REL-2026-0007")


@pytest.mark.parametrize("link", ["javascript:alert(1)", "https://a.example/x y", "https://a.example/<x>"])
def test_given_a_link_that_is_not_a_single_http_url_when_checked_then_it_is_refused(link: str) -> None:
    with pytest.raises(ReleaseInputError, match="http"):
        check_link(link)


def test_release_ids_carry_the_year_and_a_four_digit_sequence() -> None:
    assert format_release_id(2027, 3) == "REL-2027-0003"


# --- notice -----------------------------------------------------------------------------------------------


def test_given_a_release_announced_three_weeks_ahead_when_judged_then_it_is_not_short_notice(
    calendar: PlaybookCalendar,
) -> None:
    announced = release(announced_at=datetime(2026, 5, 20, 14, 0, tzinfo=UTC))  # Wed 10:00 EDT, 21 days ahead

    assert announced.days_of_notice(calendar) == 21
    assert announced.is_short_notice(calendar, 14) is False


def test_given_a_release_announced_five_days_ahead_when_judged_then_it_is_short_notice(
    calendar: PlaybookCalendar,
) -> None:
    announced = release(announced_at=datetime(2026, 6, 5, 14, 0, tzinfo=UTC))

    assert announced.days_of_notice(calendar) == 5
    assert announced.is_short_notice(calendar, 14) is True


def test_given_exactly_the_minimum_notice_when_judged_then_it_is_enough(calendar: PlaybookCalendar) -> None:
    announced = release(announced_at=datetime(2026, 5, 27, 14, 0, tzinfo=UTC))

    assert announced.is_short_notice(calendar, 14) is False


def test_given_an_announcement_late_in_the_et_evening_when_judged_then_its_et_date_counts_not_utc(
    calendar: PlaybookCalendar,
) -> None:
    # 03:30 UTC on the 28th is still 23:30 EDT on the 27th: 14 days ahead on the playbook's calendar.
    announced = release(announced_at=datetime(2026, 5, 28, 3, 30, tzinfo=UTC))

    assert announced.days_of_notice(calendar) == 14
    assert announced.is_short_notice(calendar, 14) is False


# --- weekend and holiday warning ------------------------------------------------------------------------


def test_given_a_wednesday_when_checked_then_there_is_no_warning(calendar: PlaybookCalendar) -> None:
    assert day_warning(calendar, WEDNESDAY) is None


def test_given_a_saturday_when_checked_then_the_warning_says_weekend(calendar: PlaybookCalendar) -> None:
    assert day_warning(calendar, date(2026, 6, 13)) == "Saturday 06/13/2026 is not a business day (weekend)"


def test_given_independence_day_on_a_saturday_when_checked_then_the_warning_names_both(
    calendar: PlaybookCalendar,
) -> None:
    warning = day_warning(calendar, date(2026, 7, 4))

    assert warning == "Saturday 07/04/2026 is not a business day (weekend, Independence Day)"


def test_given_the_observed_holiday_on_a_friday_when_checked_then_the_warning_names_the_holiday(
    calendar: PlaybookCalendar,
) -> None:
    warning = day_warning(calendar, date(2026, 7, 3))

    assert warning is not None
    assert warning.startswith("Friday 07/03/2026 is not a business day (Independence Day")


def test_given_a_configured_closure_day_when_checked_then_it_warns_too() -> None:
    calendar = PlaybookCalendar(CalendarConfig(extra_holidays=frozenset({WEDNESDAY})))

    assert day_warning(calendar, WEDNESDAY) == "Wednesday 06/10/2026 is not a business day (Configured holiday)"


# --- the record and the email ---------------------------------------------------------------------------


def test_given_a_release_when_stored_and_read_back_then_nothing_is_lost() -> None:
    original = release(announced_at=datetime(2026, 5, 20, 14, 0, tzinfo=UTC), notes="n", link="https://x.example")
    original.status = ReleaseStatus.CANCELLED
    original.emailed_at = datetime(2026, 6, 10, 11, 0, tzinfo=UTC)

    assert Release.from_record(original.to_record()) == original


def test_the_email_subject_follows_the_playbook_pattern() -> None:
    email = release_email(release(announced_at=datetime(2026, 5, 20, 14, 0, tzinfo=UTC)))

    assert email.subject == "Check-In Experience Release 06-10-2026"


def test_given_an_application_name_with_a_line_break_when_emailed_then_the_subject_stays_one_line() -> None:
    email = release_email(
        release(announced_at=datetime(2026, 5, 20, 14, 0, tzinfo=UTC), application="Travel\r\nBcc: x@evil.example")
    )

    assert "\r" not in email.subject
    assert "\n" not in email.subject


def test_the_email_body_carries_the_summary_and_the_notes() -> None:
    email = release_email(
        release(
            announced_at=datetime(2026, 5, 20, 14, 0, tzinfo=UTC),
            notes="Feature flag on for all stations.",
            link="https://github.com/example/releases/1",
        )
    )

    for body in (email.text, email.html):
        assert "Kiosk check-in for travel claims." in body
        assert "Feature flag on for all stations." in body
        assert "https://github.com/example/releases/1" in body
        assert "Wednesday, June 10, 2026" in body


def test_given_markup_in_the_summary_when_emailed_then_the_html_escapes_it_and_the_text_keeps_it() -> None:
    email = release_email(
        release(announced_at=datetime(2026, 5, 20, 14, 0, tzinfo=UTC), summary="<script>alert(1)</script> & co")
    )

    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in email.html
    assert "<script>alert(1)</script> & co" in email.text


def test_given_no_notes_when_emailed_then_the_notes_say_none() -> None:
    email = release_email(release(announced_at=datetime(2026, 5, 20, 14, 0, tzinfo=UTC)))

    assert "Release Notes:\nNone." in email.text
