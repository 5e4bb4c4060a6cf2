"""The draft's Stakeholders section: every partner and stakeholder notified, with the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from prodsupport.core.calendar import CalendarConfig, PlaybookCalendar
from prodsupport.incident.model import EmailRecord, EmailState, Incident, Severity, Source
from prodsupport.incident.policy import SlaPolicy
from prodsupport.postmortem import model as postmortem

ET = ZoneInfo("America/New_York")
OPENED = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
CALENDAR = PlaybookCalendar(CalendarConfig())


def incident() -> Incident:
    return SlaPolicy().new_incident(
        sequence=1,
        title="Pre-check-in errors",
        severity=Severity.CRITICAL,
        source=Source.SLASH_COMMAND,
        channel_id="C1",
        thread_ts="1764093600.000001",
        opened_at=OPENED,
        declared_by="U0ONCALL",
        applications=["Pre-check-in"],
        owner="U0PM",
    )


def stakeholders_section(draft: str) -> list[str]:
    lines = draft.splitlines()
    start = lines.index("## Stakeholders") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("## "))
    return [line for line in lines[start:end] if line.strip()]


def test_the_draft_lists_each_partner_tagged_with_its_time_and_whether_it_was_paged() -> None:
    tagged = incident()
    tagged.tag_partner("VEText", OPENED + timedelta(minutes=4), "U0ONCALL")
    tagged.tag_partner("CHIP", OPENED + timedelta(minutes=9), "U0ENG")
    tagged.partners[0].paged = True

    section = stakeholders_section(postmortem.render_draft(tagged, CALENDAR, thread_link=""))

    assert section == [
        "- Wed 11/25/2026 1:04 PM EST: partner VEText tagged in Slack by @U0ONCALL and paged in PagerDuty",
        "- Wed 11/25/2026 1:09 PM EST: partner CHIP tagged in Slack by @U0ENG",
    ]


def test_the_draft_lists_each_stakeholder_email_sent_with_its_time() -> None:
    emailed = incident()
    sent = EmailRecord("INC-1", OPENED, "U0PM", EmailState.SENT, "m-1", OPENED + timedelta(minutes=30))
    emailed.emails.append(sent)

    section = stakeholders_section(postmortem.render_draft(emailed, CALENDAR, thread_link=""))

    assert section == ["- Wed 11/25/2026 1:30 PM EST: stakeholder email sent"]


def test_a_draft_with_nobody_notified_says_so() -> None:
    section = stakeholders_section(postmortem.render_draft(incident(), CALENDAR, thread_link=""))

    assert section == ["- _No partner or stakeholder was notified._"]
