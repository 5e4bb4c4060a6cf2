"""The playbook's stakeholder email, exactly: its subject line, its summary and its six-row details table.

Pure: the incident and the moment in, subject and bodies out. The templates live in the package's
`templates/` directory so the wording can be reviewed as the playbook wrote it; the HTML is autoescaped,
and a field the templates name but the context lacks fails the render (StrictUndefined) instead of
sending an email with a hole in it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from prodsupport.core.rendering import RenderedEmail, environment, one_line
from prodsupport.core.settings import DEFAULT_EMAIL_SUBJECT
from prodsupport.core.timefmt import format_local
from prodsupport.incident.model import Incident

ONGOING = "Ongoing"
ROW_LABELS = (
    "Applications Impacted",
    "Business Impact",
    "Incident Start Date/Time",
    "Incident End Date/Time",
    "Current Status",
    "Resolution",
)
"""The details table's rows, in the playbook's order; the templates spell them out in the same order."""


def subject(incident: Incident, zone: ZoneInfo, template: str = DEFAULT_EMAIL_SUBJECT) -> str:
    """The team's `email_subject` (by default the playbook's `<Application Name> Production Outage MM-DD-YYYY`)
    with the primary application, the start date in `zone` and the incident's id.

    The date is the local one because that is the day the stakeholders lived through: an outage at 9 PM
    on a Sunday in ET is Sunday's outage even though it is already Monday in UTC.
    """
    started = incident.opened_at.astimezone(zone)
    return one_line(
        template.format(application=incident.primary_application, date=f"{started:%m-%d-%Y}", id=incident.id)
    )


def current_status(incident: Incident, at: datetime, zone: ZoneInfo) -> str:
    """A timestamp, the latest update, and when the next one can be expected, as the playbook asks."""
    if incident.ended_at is not None:
        return f"{format_local(incident.ended_at, zone)}: Resolved."
    stamp = format_local(incident.status_at or at, zone)
    latest = incident.current_status or "Investigating."
    if incident.next_update_at is not None:
        expectation = f"Next update by {format_local(incident.next_update_at, zone)}."
    else:
        expectation = "Next update when there is news."
    return f"{stamp}: {latest}\n{expectation}"


def _postmortem_url(incident: Incident) -> str:
    """Only a web link is linked: anything else in the field is not something a stakeholder can open."""
    url = incident.postmortem.url if incident.postmortem else ""
    return url if url.lower().startswith(("https://", "http://")) else ""


def render(
    incident: Incident, at: datetime, zone: ZoneInfo, subject_template: str = DEFAULT_EMAIL_SUBJECT
) -> RenderedEmail:
    """The email as it would go out at `at` (which stamps the status when no update was ever posted)."""
    context = {
        "subject": subject(incident, zone, subject_template),
        "summary": incident.summary or incident.title,
        "applications": ", ".join(incident.applications) or incident.primary_application,
        "business_impact": incident.business_impact or "Being assessed.",
        "start": format_local(incident.opened_at, zone),
        "end": format_local(incident.ended_at, zone) if incident.ended_at else ONGOING,
        "status": current_status(incident, at, zone),
        "resolution": incident.resolution or ONGOING,
        "postmortem_url": _postmortem_url(incident),
    }
    templates = environment()
    return RenderedEmail(
        subject=context["subject"],
        text=templates.get_template("stakeholder_email.txt.j2").render(context),
        html=templates.get_template("stakeholder_email.html.j2").render(context),
    )
