"""The playbook's stakeholder email template: subject in ET, six rows in order, defaults, escaping, headers."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from builders import new_incident

from prodsupport.email.requests import EmailRequest
from prodsupport.email.stakeholder import ROW_LABELS, render, subject
from prodsupport.incident.model import Incident, Postmortem, PostmortemState, Source, Status

ET = ZoneInfo("America/New_York")

# Sunday 11/30/2025 9:30 PM EST is already Monday 12/01/2025 in UTC.
SUNDAY_EVENING_ET = datetime(2025, 12, 1, 2, 30, tzinfo=UTC)
SENT_AT = SUNDAY_EVENING_ET + timedelta(minutes=40)
STAKEHOLDERS = ("alex@example.gov", "sam@example.gov")


def incident(title: str = "Kiosks cannot check Veterans in", applications: tuple[str, ...] = ()) -> Incident:
    return new_incident(
        SUNDAY_EVENING_ET,
        sequence=7,
        title=title,
        source=Source.SLASH_COMMAND,
        declared_by="U0ONCALL",
        applications=applications or ("Check-In Experience", "Pre-Check-In"),
    )


def resolved(subject_incident: Incident) -> Incident:
    subject_incident.status = Status.RESOLVED
    subject_incident.ended_at = SUNDAY_EVENING_ET + timedelta(hours=3)
    subject_incident.resolution = "Rolled back the 2.14 release."
    return subject_incident


class _TableRows(HTMLParser):
    """The details table as (header, cell text) pairs, read the way a mail client lays it out."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_rows(html: str) -> _TableRows:
    parser = _TableRows()
    parser.feed(html)
    return parser


def text_rows(text: str) -> list[tuple[str, str]]:
    details = text.split("Incident Details:\n", 1)[1]
    rows = []
    for line in details.splitlines():
        label, sep, value = line.partition(":")
        if sep and not line.startswith(" ") and label in ROW_LABELS:
            rows.append((label, value.strip()))
    return rows


def parsed_mime(request: EmailRequest) -> EmailMessage:
    message = email.message_from_bytes(request.to_mime("prodsupport@example.gov"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def request_for(subject_incident: Incident) -> EmailRequest:
    rendered = render(subject_incident, SENT_AT, ET)
    return EmailRequest(
        request_id=f"{subject_incident.id}-1",
        kind="incident",
        ref=subject_incident.id,
        channel_id=subject_incident.channel_id,
        thread_ts=subject_incident.thread_ts,
        to=STAKEHOLDERS,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        requested_at=SENT_AT,
        requested_by="U0PM",
    )


def test_given_a_sunday_evening_et_incident_that_is_monday_in_utc_then_the_subject_has_sundays_date() -> None:
    assert subject(incident(), ET) == "Check-In Experience Production Outage 11-30-2025"


def test_given_no_applications_then_the_subject_names_the_check_in_experience() -> None:
    bare = incident()
    bare.applications = []
    assert subject(bare, ET) == "Check-In Experience Production Outage 11-30-2025"


def test_the_html_table_has_the_six_playbook_rows_in_order() -> None:
    rows = html_rows(render(incident(), SENT_AT, ET).html).rows
    assert [row[0] for row in rows] == list(ROW_LABELS)
    assert ROW_LABELS == (
        "Applications Impacted",
        "Business Impact",
        "Incident Start Date/Time",
        "Incident End Date/Time",
        "Current Status",
        "Resolution",
    )


def test_the_text_body_has_the_summary_then_the_six_rows_in_order() -> None:
    text = render(incident(), SENT_AT, ET).text
    assert text.startswith("Incident Summary: Kiosks cannot check Veterans in\n\nIncident Details:\n")
    assert [label for label, _ in text_rows(text)] == list(ROW_LABELS)


def test_given_an_open_incident_then_end_and_resolution_default_to_ongoing() -> None:
    rows = dict(text_rows(render(incident(), SENT_AT, ET).text))
    assert rows["Incident End Date/Time"] == "Ongoing"
    assert rows["Resolution"] == "Ongoing"


def test_the_start_time_is_shown_in_et_with_the_zone() -> None:
    rows = dict(text_rows(render(incident(), SENT_AT, ET).text))
    assert rows["Incident Start Date/Time"] == "Sun 11/30/2025 9:30 PM EST"
    assert rows["Applications Impacted"] == "Check-In Experience, Pre-Check-In"


def test_the_current_status_has_its_et_timestamp_the_update_and_the_next_update_expectation() -> None:
    subject_incident = incident()
    subject_incident.current_status = "Rolling back the 2.14 release."
    subject_incident.status_at = SUNDAY_EVENING_ET + timedelta(minutes=30)
    subject_incident.next_update_at = SUNDAY_EVENING_ET + timedelta(hours=2, minutes=30)

    text = render(subject_incident, SENT_AT, ET).text

    assert (
        "Current Status:            Sun 11/30/2025 10:00 PM EST: Rolling back the 2.14 release.\n"
        "                           Next update by Mon 12/01/2025 12:00 AM EST.\n"
    ) in text


def test_given_no_status_update_yet_then_the_status_is_stamped_with_the_send_time() -> None:
    rows = dict(text_rows(render(incident(), SENT_AT, ET).text))
    assert rows["Current Status"] == "Sun 11/30/2025 10:10 PM EST: Investigating."


def test_given_a_resolved_incident_then_end_time_and_resolution_are_filled() -> None:
    rows = dict(text_rows(render(resolved(incident()), SENT_AT, ET).text))
    assert rows["Incident End Date/Time"] == "Mon 12/01/2025 12:30 AM EST"
    assert rows["Resolution"] == "Rolled back the 2.14 release."
    assert rows["Current Status"] == "Mon 12/01/2025 12:30 AM EST: Resolved."


def test_given_a_post_mortem_document_then_the_resolution_links_it() -> None:
    subject_incident = resolved(incident())
    url = "https://github.com/department-of-veterans-affairs/va.gov-team-sensitive/blob/master/Postmortems/pm.md"
    subject_incident.postmortem = Postmortem(PostmortemState.SHARED, SUNDAY_EVENING_ET, url=url)

    rendered = render(subject_incident, SENT_AT, ET)

    assert html_rows(rendered.html).links == [url]
    assert f"Post-mortem: {url}" in rendered.text


def test_given_a_post_mortem_link_that_is_not_a_web_address_then_nothing_is_linked() -> None:
    subject_incident = resolved(incident())
    subject_incident.postmortem = Postmortem(PostmortemState.SHARED, SUNDAY_EVENING_ET, url="javascript:alert(1)")

    rendered = render(subject_incident, SENT_AT, ET)

    assert html_rows(rendered.html).links == []
    assert "javascript:" not in rendered.text


def test_given_a_summary_with_a_script_tag_then_the_html_escapes_it() -> None:
    subject_incident = incident()
    subject_incident.summary = "<script>alert('x')</script> Veterans see an error."

    rendered = render(subject_incident, SENT_AT, ET)

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Veterans see an error." in rendered.html
    assert "Incident Summary: <script>alert('x')</script> Veterans see an error." in rendered.text


def test_given_a_title_with_crlf_when_sent_then_no_header_is_added() -> None:
    message = parsed_mime(request_for(incident(title="Kiosks down\r\nBcc: attacker@example.com\r\n\r\nhi")))

    assert sorted(message.keys()) == ["Content-Type", "Date", "From", "MIME-Version", "Subject", "To"]
    assert message["To"] == "alex@example.gov, sam@example.gov"


def test_given_an_application_name_with_crlf_then_the_subject_stays_one_line() -> None:
    subject_incident = incident(applications=("Check-In\r\nBcc: attacker@example.com",))

    message = parsed_mime(request_for(subject_incident))

    assert message["Subject"] == "Check-In Bcc: attacker@example.com Production Outage 11-30-2025"
    assert "Bcc" not in message


def test_the_mime_message_is_multipart_alternative_with_text_then_html() -> None:
    message = parsed_mime(request_for(incident()))

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
