"""The compliance report over incidents built on real dates: what counts as in time, late, missed or open."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import new_incident

from prodsupport.core.calendar import PlaybookCalendar
from prodsupport.incident.model import Incident, Severity, Sla, Source
from prodsupport.incident.policy import SlaPolicy
from prodsupport.sla import compliance
from prodsupport.sla.compliance import Outcome

ET = ZoneInfo("America/New_York")
POLICY = SlaPolicy()
WEEK_START = datetime(2026, 11, 16, 5, tzinfo=UTC)  # Mon 11/16/2026 00:00 EST
WEEK_END = datetime(2026, 11, 23, 5, tzinfo=UTC)  # Mon 11/23/2026 00:00 EST
AS_OF = datetime(2026, 11, 23, 14, tzinfo=UTC)  # the Monday 09:00 EST run


def et(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ET).astimezone(UTC)


def incident(
    opened_at: datetime,
    *,
    sequence: int = 1,
    severity: Severity = Severity.MAJOR,
    source: Source = Source.ALERT_MESSAGE,
    acked_after: timedelta | None = None,
    title: str = "Check-in fails at the kiosk",
) -> Incident:
    made = new_incident(opened_at, sequence=sequence, title=title, severity=severity, source=source, policy=POLICY)
    if acked_after is not None:
        made.meet(Sla.SLACK_ACK, opened_at + acked_after)
    return made


def report(*incidents: Incident) -> compliance.ComplianceReport:
    return compliance.build(incidents, WEEK_START, WEEK_END, AS_OF, zone=ET)


TUESDAY_10 = et(11, 17, 10)  # business hours: 15-minute window


# --- which incidents and how they are judged -----------------------------------------------------------


def test_given_incidents_at_the_period_edges_when_built_then_the_start_is_included_and_the_end_excluded() -> None:
    built = report(incident(WEEK_START, sequence=1), incident(WEEK_END, sequence=2))

    assert [i.id for i in built.incidents] == ["INC-2026-0001"]


def test_given_incidents_of_each_severity_when_built_then_they_are_counted_by_severity() -> None:
    built = report(
        incident(TUESDAY_10, sequence=1, severity=Severity.CRITICAL),
        incident(TUESDAY_10, sequence=2),
        incident(TUESDAY_10, sequence=3),
    )

    assert built.by_severity == {Severity.CRITICAL: 1, Severity.MAJOR: 2, Severity.MINOR: 0}


def test_given_acks_at_3_10_and_20_minutes_in_business_hours_when_built_then_two_of_three_are_in_time() -> None:
    built = report(
        incident(TUESDAY_10, sequence=1, acked_after=timedelta(minutes=3)),
        incident(TUESDAY_10, sequence=2, acked_after=timedelta(minutes=10)),
        incident(TUESDAY_10, sequence=3, acked_after=timedelta(minutes=20)),
    )

    stats = built.stats(Sla.SLACK_ACK)
    assert (stats.in_time, stats.late, stats.missed, stats.percent_in_time) == (2, 1, 0, 66.7)
    assert (stats.median, stats.worst) == (timedelta(minutes=10), timedelta(minutes=20))


def test_given_an_ack_exactly_at_the_due_minute_when_judged_then_it_is_in_time() -> None:
    built = report(incident(TUESDAY_10, acked_after=timedelta(minutes=15)))

    assert built.clocks[0].outcome is Outcome.IN_TIME


def test_given_an_alert_never_acknowledged_when_built_then_the_ack_is_missed_and_listed_as_a_breach() -> None:
    built = report(incident(TUESDAY_10))

    assert [(c.sla, c.outcome) for c in built.breaches] == [(Sla.SLACK_ACK, Outcome.MISSED)]


def test_given_an_ack_clock_still_running_at_the_report_time_when_built_then_it_is_open_and_not_a_percentage() -> None:
    late_sunday = et(11, 22, 23, 50)
    built = compliance.build([incident(late_sunday)], WEEK_START, WEEK_END, as_of=et(11, 23, 0, 5), zone=ET)

    stats = built.stats(Sla.SLACK_ACK)
    assert (stats.open, stats.percent_in_time, built.breaches) == (1, None, [])


def test_given_a_slack_ack_in_time_and_no_pagerduty_ack_when_built_then_only_the_pagerduty_ack_is_a_breach() -> None:
    built = report(incident(TUESDAY_10, source=Source.PAGERDUTY, acked_after=timedelta(minutes=4)))

    assert [(c.sla, c.outcome) for c in built.breaches] == [(Sla.PAGERDUTY_ACK, Outcome.MISSED)]


def test_given_a_stakeholder_email_sent_after_20_hours_when_built_then_it_is_in_time_with_its_time_to_send() -> None:
    critical = incident(TUESDAY_10, severity=Severity.CRITICAL, acked_after=timedelta(minutes=2))
    critical.meet(Sla.STAKEHOLDER_EMAIL, TUESDAY_10 + timedelta(hours=20))

    stats = report(critical).stats(Sla.STAKEHOLDER_EMAIL)

    assert (stats.in_time, stats.median) == (1, timedelta(hours=20))


# --- the period ----------------------------------------------------------------------------------------


def test_given_the_monday_09_00_run_when_the_period_is_chosen_then_it_is_the_previous_monday_to_monday() -> None:
    start, end = compliance.last_week(datetime(2026, 11, 23, 14, tzinfo=UTC), PlaybookCalendar())

    assert (start, end) == (WEEK_START, WEEK_END)


def test_given_a_week_across_the_fall_back_when_the_period_is_chosen_then_it_runs_midnight_to_midnight_et() -> None:
    start, end = compliance.last_week(datetime(2026, 11, 2, 14, tzinfo=UTC), PlaybookCalendar())

    assert (start.astimezone(ET).hour, end.astimezone(ET).hour) == (0, 0)
    assert end - start == timedelta(days=7, hours=1)


# --- rendering -----------------------------------------------------------------------------------------


def test_given_three_acks_when_rendered_as_markdown_then_the_ack_row_shows_count_percent_median_and_worst() -> None:
    built = report(
        incident(TUESDAY_10, sequence=1, acked_after=timedelta(minutes=3)),
        incident(TUESDAY_10, sequence=2, acked_after=timedelta(minutes=10)),
        incident(TUESDAY_10, sequence=3, acked_after=timedelta(minutes=20)),
    )

    md = compliance.render_md(built)

    assert "| Slack acknowledgement | 2 of 3 (66.7%) | 1 | 0 | 0 | 10 min | 20 min |" in md


def test_given_a_late_ack_when_rendered_as_markdown_then_the_breach_line_says_when_it_was_due_and_how_late() -> None:
    md = compliance.render_md(report(incident(TUESDAY_10, acked_after=timedelta(minutes=20))))

    assert (
        "- **INC-2026-0001** (major) Check-in fails at the kiosk: Slack acknowledgement due "
        "Tue 11/17/2026 10:15 AM EST, done Tue 11/17/2026 10:20 AM EST, 5 min late"
    ) in md


def test_given_a_title_with_slack_controls_when_rendered_as_markdown_then_it_is_escaped() -> None:
    md = compliance.render_md(report(incident(TUESDAY_10, title="<!channel> & friends")))

    assert "&lt;!channel&gt; &amp; friends" in md
    assert "<!channel>" not in md


def test_given_no_incidents_when_rendered_as_markdown_then_it_says_no_breaches_and_none_due() -> None:
    md = compliance.render_md(report())

    assert "No breaches." in md
    assert "| Slack acknowledgement | none due |" in md


def test_given_a_pacific_zone_when_rendered_as_markdown_then_times_are_pacific_and_named_so() -> None:
    built = compliance.build([], WEEK_START, WEEK_END, AS_OF, zone=ZoneInfo("America/Los_Angeles"))

    md = compliance.render_md(built)

    assert "Times are PT; clocks still running at " in md
    assert md.split("clocks still running at ")[1].split(" are counted")[0].endswith("PST")


def test_given_more_breaches_than_the_limit_when_rendered_for_slack_then_the_rest_points_to_the_cli() -> None:
    built = report(*(incident(TUESDAY_10, sequence=n) for n in range(1, 4)))

    md = compliance.render_md(built, breach_limit=2)

    assert "INC-2026-0003" not in md
    assert "… and 1 more: `prodsupport report --from 2026-11-16 --to 2026-11-23 --format md`" in md


def test_given_a_report_when_rendered_as_csv_then_there_is_one_row_per_clock_per_incident() -> None:
    built = report(
        incident(TUESDAY_10, sequence=1, source=Source.PAGERDUTY, acked_after=timedelta(minutes=4)),
        incident(TUESDAY_10, sequence=2, acked_after=timedelta(minutes=20)),
    )

    rows = list(csv.DictReader(io.StringIO(compliance.render_csv(built))))

    assert [(r["incident_id"], r["sla"], r["outcome"], r["seconds_late"]) for r in rows] == [
        ("INC-2026-0001", "slack_ack", "in_time", ""),
        ("INC-2026-0001", "pagerduty_ack", "missed", str(int((AS_OF - TUESDAY_10).total_seconds()) - 900)),
        ("INC-2026-0002", "slack_ack", "late", "300"),
    ]


def test_given_a_report_when_rendered_as_json_then_it_holds_the_summary_and_each_breach() -> None:
    built = report(incident(TUESDAY_10, acked_after=timedelta(minutes=20)))

    parsed = json.loads(compliance.render(built, "json"))

    assert parsed["by_severity"] == {"critical": 0, "major": 1, "minor": 0}
    assert parsed["clocks"]["slack_ack"] == {
        "in_time": 0,
        "late": 1,
        "missed": 0,
        "open": 0,
        "percent_in_time": 0.0,
        "median_seconds_to_meet": 1200,
        "worst_seconds_to_meet": 1200,
    }
    assert parsed["breaches"] == [
        {
            "incident_id": "INC-2026-0001",
            "title": "Check-in fails at the kiosk",
            "severity": "major",
            "sla": "slack_ack",
            "due": "2026-11-17T15:15:00Z",
            "met_at": "2026-11-17T15:20:00Z",
            "seconds_late": 300,
        }
    ]


@pytest.mark.parametrize("fmt", compliance.FORMATS)
def test_given_an_empty_period_when_rendered_in_any_format_then_it_renders(fmt: compliance.Format) -> None:
    assert compliance.render(report(), fmt)
