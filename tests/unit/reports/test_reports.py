"""The reports' pure parts: the chart's numbers, the PNG it draws, the HTML page, the monthly outlook."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from builders import new_incident

from prodsupport.incident.model import Incident, Severity, Sla
from prodsupport.incident.policy import SlaPolicy
from prodsupport.release.model import Release, ReleaseStatus
from prodsupport.reports import charts, history, outlook, page
from prodsupport.sla import compliance
from prodsupport.sla.compliance import Outcome

ZONE = ZoneInfo("America/New_York")
POLICY = SlaPolicy()
CALENDAR = POLICY.calendar
WEEK_START = date(2026, 11, 23)  # a Monday
AS_OF = datetime(2026, 11, 30, 14, tzinfo=UTC)  # the Monday 09:00 EST run after it
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def et(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ZONE).astimezone(UTC)


def incident(opened_at: datetime, sequence: int, acked_after: timedelta | None, title: str = "Kiosk down") -> Incident:
    made = new_incident(opened_at, sequence=sequence, title=title, severity=Severity.MAJOR, policy=POLICY)
    if acked_after is not None:
        made.meet(Sla.SLACK_ACK, opened_at + acked_after)
    return made


def last_week(*incidents: Incident) -> compliance.ComplianceReport:
    start, end = compliance.local_days(CALENDAR, WEEK_START, WEEK_START + timedelta(weeks=1))
    return compliance.build(incidents, start, end, AS_OF, ZONE)


def parse_page(text: str) -> ET.Element:
    """A strict XML parser: an unclosed or mis-nested tag fails here. The page is this package's own output."""
    return ET.fromstring(text)  # noqa: S314 - our own page, in a test


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG format puts first, right after the signature."""
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


WEEK = (
    incident(et(11, 24, 10), 1, timedelta(minutes=5)),  # business hours: in time
    incident(et(11, 25, 10), 2, timedelta(minutes=20)),  # business hours: late
    incident(et(11, 28, 10), 3, None),  # Saturday: 60 minutes, missed by the run
)


# --- the chart's numbers --------------------------------------------------------------------------------


def test_each_incident_gives_its_minutes_to_ack_its_window_and_its_outcome() -> None:
    bars = history.ack_bars(last_week(*WEEK))

    assert [(b.incident_id, b.minutes_to_ack, b.window_minutes, b.outcome) for b in bars] == [
        ("INC-2026-0001", 5, 15, Outcome.IN_TIME),
        ("INC-2026-0002", 20, 15, Outcome.LATE),
        ("INC-2026-0003", None, 60, Outcome.MISSED),
    ]


def test_the_trend_gives_each_of_twelve_weeks_its_on_time_percent_and_none_for_a_week_without_incidents() -> None:
    earlier = incident(et(11, 17, 10), 4, timedelta(minutes=1))

    trend = history.weekly_history([*WEEK, earlier], WEEK_START, CALENDAR, AS_OF)

    assert [point.start for point in trend] == [WEEK_START - timedelta(weeks=11 - n) for n in range(12)]
    assert [point.percent[Sla.SLACK_ACK] for point in trend[-3:]] == [None, 100.0, 33.3]


# --- the PNG --------------------------------------------------------------------------------------------


def test_the_chart_is_a_valid_png_of_a_sensible_size() -> None:
    report = last_week(*WEEK)
    png = charts.compliance_png(
        "Playbook compliance", history.ack_bars(report), history.weekly_history(WEEK, WEEK_START, CALENDAR, AS_OF)
    )

    assert png.startswith(PNG_SIGNATURE)
    assert png_size(png) == (1000, 450)
    assert 10_000 < len(png) < 300_000
    assert png.endswith(b"IEND\xaeB`\x82")


def test_the_same_report_draws_the_same_bytes() -> None:
    report = last_week(*WEEK)
    trend = history.weekly_history(WEEK, WEEK_START, CALENDAR, AS_OF)

    first = charts.compliance_png("Playbook compliance", history.ack_bars(report), trend)

    assert charts.compliance_png("Playbook compliance", history.ack_bars(report), trend) == first


def test_a_week_without_incidents_still_draws_a_chart() -> None:
    png = charts.compliance_png("Playbook compliance", [], history.weekly_history([], WEEK_START, CALENDAR, AS_OF))

    assert png.startswith(PNG_SIGNATURE)
    assert png_size(png) == (1000, 450)


# --- the HTML page --------------------------------------------------------------------------------------

HOSTILE_TITLE = '<script src="https://evil.example/x.js"></script> & "quotes"'


def html_page() -> str:
    report = last_week(*WEEK, incident(et(11, 26, 10), 5, None, title=HOSTILE_TITLE))
    return page.render_html(report, history.weekly_history(WEEK, WEEK_START, CALENDAR, AS_OF))


def test_the_html_page_is_well_formed_markup() -> None:
    root = parse_page(html_page())

    assert root.tag == "html"
    assert root.find("head/title") is not None


def test_the_html_page_loads_nothing_from_outside_and_runs_no_script() -> None:
    root = parse_page(html_page())

    assert root.find(".//script") is None
    linked = [value for element in root.iter() for name in ("src", "href") if (value := element.get(name))]
    assert linked and all(value.startswith("data:image/png;base64,") for value in linked)
    assert "url(" not in html_page()


def test_the_html_page_escapes_a_title_someone_typed() -> None:
    text = html_page()

    assert HOSTILE_TITLE not in text
    assert "&lt;script src=&#34;https://evil.example/x.js&#34;&gt;&lt;/script&gt; &amp; &#34;quotes&#34;" in text


def test_the_html_page_gives_the_same_numbers_as_the_markdown_report() -> None:
    report = last_week(*WEEK)

    root = parse_page(page.render_html(report, history.weekly_history(WEEK, WEEK_START, CALENDAR, AS_OF)))

    first_row = [cell.text for cell in root.findall(".//table")[0].findall("tr")[1]]
    assert first_row == ["Slack acknowledgement", "1 of 3 (33.3%)", "1", "1", "0", "13 min", "20 min"]
    assert f"| {' | '.join(first_row)} |" in compliance.render_md(report)


# --- the monthly outlook --------------------------------------------------------------------------------


def release(release_id: str, day: date, status: ReleaseStatus = ReleaseStatus.SCHEDULED) -> Release:
    return Release(
        id=release_id,
        application="Pre-Check-In",
        date=day,
        summary="Travel pay <b>claims</b>",
        announced_at=datetime(2026, 11, 2, 15, tzinfo=UTC),
        announced_by="U0PM",
        status=status,
    )


def december_outlook() -> outlook.Outlook:
    novembers = [incident(et(11, 3, 10), 1, timedelta(minutes=5)), incident(et(11, 25, 10), 2, timedelta(minutes=20))]
    releases = [
        release("REL-2026-0002", date(2026, 12, 15)),
        release("REL-2026-0001", date(2026, 12, 8)),
        release("REL-2026-0003", date(2026, 12, 9), ReleaseStatus.CANCELLED),
    ]
    return outlook.build(date(2026, 12, 1), releases, novembers, CALENDAR, datetime(2026, 12, 1, 14, tzinfo=UTC))


def test_the_outlook_lists_the_months_scheduled_releases_by_date_and_last_months_compliance() -> None:
    posted = outlook.message(december_outlook(), "C0PRODSUP")

    assert posted.event_type == "release_outlook"
    assert posted.payload == {
        "month": "2026-12",
        "releases": [
            {"release_id": "REL-2026-0001", "application": "Pre-Check-In", "date": "2026-12-08"},
            {"release_id": "REL-2026-0002", "application": "Pre-Check-In", "date": "2026-12-15"},
        ],
        "last_month": {
            "from": "2026-11-01T04:00:00Z",
            "to": "2026-12-01T05:00:00Z",
            "incidents": 2,
            "breaches": 1,
            "percent_in_time": {"slack_ack": 50.0},
        },
    }
    assert "• Slack acknowledgement: 1 of 2 in time (50%)" in posted.text


def test_the_outlook_escapes_release_text_in_slack_and_in_the_emails_html() -> None:
    made = december_outlook()

    assert "Travel pay &lt;b&gt;claims&lt;/b&gt;" in outlook.message(made, "C0PRODSUP").text
    mail = outlook.email(made, "Check-In Experience")
    assert mail.subject == "Check-In Experience Monthly Outlook December 2026"
    assert "Travel pay &lt;b&gt;claims&lt;/b&gt;" in mail.html
    assert "Travel pay <b>claims</b>" in mail.text


def test_the_outlooks_email_request_id_is_fixed_per_month() -> None:
    assert outlook.request_id(december_outlook()) == "outlook-2026-12"


def test_a_mid_month_outlook_lists_the_coming_month_and_the_previous_calendar_month() -> None:
    octobers = [incident(et(10, 20, 10), 1, timedelta(minutes=5))]
    releases = [
        release("REL-2026-0001", date(2026, 11, 14)),  # before the run: already gone
        release("REL-2026-0002", date(2026, 11, 15)),
        release("REL-2026-0003", date(2026, 12, 14)),
        release("REL-2026-0004", date(2026, 12, 15)),  # a month after the run: next outlook's
    ]

    made = outlook.build(date(2026, 11, 15), releases, octobers, CALENDAR, datetime(2026, 11, 15, 14, tzinfo=UTC))

    posted = outlook.message(made, "C0PRODSUP")
    assert [r["release_id"] for r in posted.payload["releases"]] == ["REL-2026-0002", "REL-2026-0003"]
    assert "*Releases from Sun 11/15/2026 to Mon 12/14/2026*" in posted.text
    assert posted.payload["last_month"]["from"] == "2026-10-01T04:00:00Z"
    assert posted.payload["last_month"]["incidents"] == 1


def test_the_coming_month_of_a_run_on_the_31st_ends_with_the_shorter_month() -> None:
    assert outlook.a_month_after(date(2027, 1, 31)) == date(2027, 2, 28)
