"""The post-mortem on real dates: business-day deadlines, the attendee roles, the lifecycle, the draft, the invite."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import new_incident
from icalendar import Calendar

from prodsupport.core.errors import UserError
from prodsupport.core.timefmt import format_local
from prodsupport.incident.model import Incident, PagerDutyLink, PostmortemState, Severity, Sla, Source
from prodsupport.incident.policy import SlaPolicy
from prodsupport.postmortem import model as postmortem
from prodsupport.postmortem.model import Attendee, PostmortemCheckpoint
from prodsupport.slack.commands import parse_incident

ET = ZoneInfo("America/New_York")
POLICY = SlaPolicy()
OPENED = datetime(2026, 11, 25, 13, 0, tzinfo=ET)  # Wed, the eve of Thanksgiving
RESOLVED = datetime(2026, 11, 25, 15, 0, tzinfo=ET)
THREAD = "https://example.slack.com/archives/C1/p1764093600000001"
VA_HEADINGS = [
    "## What happened?",
    "## Background",
    "## Detection",
    "## Impact",
    "## Root Causes",
    "## Resolution",
    "## Documentation links",
    "## Action Items",
    "## Lessons Learned",
    "### What went well",
    "### What went wrong",
    "### Where we got lucky",
    "### Takeaways",
    "## Timeline (all times America/New_York, ascending)",
]


def resolved_incident(*, at: datetime = RESOLVED, severity: Severity = Severity.CRITICAL) -> Incident:
    incident = new_incident(
        OPENED,
        title="Pre-check-in errors",
        severity=severity,
        source=Source.SLASH_COMMAND,
        thread_ts="1764093600.000001",
        declared_by="U0ONCALL",
        applications=["Pre-check-in"],
        policy=POLICY,
    )
    incident.note(OPENED + timedelta(minutes=5), "acknowledged", "U0ENG", "Looking")
    incident.ended_at = at
    incident.resolution = "Rolled back the release"
    incident.note(at, "resolved", "U0ENG", incident.resolution)
    return incident


def started(at: datetime = RESOLVED) -> Incident:
    incident = resolved_incident(at=at)
    postmortem.start(incident, POLICY, at)
    return incident


def timeline_section(draft: str) -> list[str]:
    lines = draft.splitlines()
    start = lines.index("## Timeline (all times America/New_York, ascending)") + 1
    return [line for line in lines[start:] if line.strip()]


# --- deadlines in business days ------------------------------------------------------------------------


def test_given_a_resolution_on_thanksgiving_eve_when_started_then_scheduling_is_due_after_the_holiday_and_weekend() -> (
    None
):
    incident = started(RESOLVED)

    # Thu 11/26 is Thanksgiving, Sat/Sun the weekend: Fri 11/27 is day one, Mon 11/30 day two.
    assert incident.deadlines[Sla.POSTMORTEM_SCHEDULED].due == datetime(2026, 11, 30, 15, 0, tzinfo=ET)


def test_given_a_resolution_on_thanksgiving_eve_when_started_then_sharing_is_due_ten_business_days_later() -> None:
    incident = started(RESOLVED)

    assert incident.deadlines[Sla.POSTMORTEM_SHARED].due == datetime(2026, 12, 10, 15, 0, tzinfo=ET)


def test_given_a_resolution_before_an_observed_holiday_when_started_then_the_observed_day_is_skipped() -> None:
    # Sat 2026-07-04 is observed on Fri 07-03.
    incident = started(datetime(2026, 7, 2, 11, 0, tzinfo=ET))

    assert incident.deadlines[Sla.POSTMORTEM_SCHEDULED].due == datetime(2026, 7, 7, 11, 0, tzinfo=ET)


def test_given_configured_business_days_when_started_then_the_deadlines_follow_them() -> None:
    policy = SlaPolicy(postmortem_schedule_business_days=1, postmortem_share_business_days=3)
    incident = resolved_incident()

    postmortem.start(incident, policy, RESOLVED)

    assert incident.deadlines[Sla.POSTMORTEM_SCHEDULED].due == datetime(2026, 11, 27, 15, 0, tzinfo=ET)
    assert incident.deadlines[Sla.POSTMORTEM_SHARED].due == datetime(2026, 12, 1, 15, 0, tzinfo=ET)


def test_given_a_started_post_mortem_then_it_is_drafted_and_the_next_due_is_scheduling() -> None:
    incident = started()

    assert incident.postmortem is not None and incident.postmortem.state is PostmortemState.DRAFTED
    assert postmortem.next_due(incident) == incident.deadlines[Sla.POSTMORTEM_SCHEDULED].due


@pytest.mark.parametrize(
    ("severity", "needed", "required"),
    [(Severity.CRITICAL, False, True), (Severity.MAJOR, False, False), (Severity.MINOR, True, True)],
    ids=["critical", "major", "minor-marked-needed"],
)
def test_a_post_mortem_is_required_for_critical_incidents_and_those_marked_needed(
    severity: Severity, needed: bool, required: bool
) -> None:
    incident = resolved_incident(severity=severity)
    incident.postmortem_needed = needed

    assert postmortem.required(incident) is required


# --- attendees and roles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("<@U0TIER3|tina>:tier3", Attendee(user_id="U0TIER3", role="tier3")),
        ("@U0SVC:service", Attendee(user_id="U0SVC", role="service")),
        ("Client.Person@VA.gov:client", Attendee(email="client.person@va.gov", role="client")),
        ("<mailto:a@va.gov|a@va.gov>:T3", Attendee(email="a@va.gov", role="tier3")),
        ("<@U0GUEST>", Attendee(user_id="U0GUEST")),
    ],
    ids=["escaped-mention", "bare-mention", "email", "slack-mailto-alias", "no-role"],
)
def test_an_attendee_token_names_a_slack_user_or_an_address_with_an_optional_role(
    token: str, expected: Attendee
) -> None:
    assert postmortem.parse_attendee(token) == expected


def test_an_attendee_reads_back_from_its_stored_token() -> None:
    attendee = Attendee(email="a@va.gov", role="client")

    assert postmortem.parse_attendee(attendee.token) == attendee


def test_given_an_unknown_role_when_parsed_then_the_refusal_names_the_roles() -> None:
    with pytest.raises(UserError, match="tier3, service or client"):
        postmortem.parse_attendee("@U0SVC:manager")


def test_given_a_display_name_instead_of_a_mention_when_parsed_then_it_is_refused() -> None:
    with pytest.raises(UserError, match="not an attendee"):
        postmortem.parse_attendee("@tina:tier3")


def test_given_no_attendees_when_parsed_then_it_is_refused() -> None:
    with pytest.raises(UserError, match="Who attends"):
        postmortem.parse_attendees([])


def test_given_tier3_and_client_when_checked_then_the_service_representative_is_missing() -> None:
    attendees = postmortem.parse_attendees(["@U0T3:tier3", "client@va.gov:client"])

    assert postmortem.missing_roles(attendees) == ["service"]


def test_given_every_role_when_checked_then_nothing_is_missing() -> None:
    attendees = postmortem.parse_attendees(["@U0T3:tier3", "@U0SVC:service", "client@va.gov:client"])

    assert postmortem.missing_roles(attendees) == []


def test_given_attendees_without_roles_when_checked_then_every_role_is_missing_in_playbook_order() -> None:
    attendees = postmortem.parse_attendees(["@U0T3", "client@va.gov"])

    assert postmortem.missing_roles(attendees) == ["tier3", "service", "client"]


# --- the lifecycle --------------------------------------------------------------------------------------

SESSION = datetime(2026, 11, 30, 14, 0, tzinfo=ET)
SCHEDULED_AT = datetime(2026, 11, 27, 10, 0, tzinfo=ET)
ATTENDEES = (Attendee(user_id="U0T3", role="tier3"), Attendee(email="client@va.gov", role="client"))


def test_given_a_draft_when_scheduled_then_the_scheduling_clock_is_met_and_sharing_is_next() -> None:
    incident = started()

    postmortem.schedule(incident, SESSION, ATTENDEES, "U0PM", SCHEDULED_AT, ET)

    assert incident.deadlines[Sla.POSTMORTEM_SCHEDULED].met_at == SCHEDULED_AT
    assert incident.postmortem is not None and incident.postmortem.attendees == ["U0T3:tier3", "client@va.gov:client"]
    assert postmortem.next_due(incident) == incident.deadlines[Sla.POSTMORTEM_SHARED].due


def test_given_a_session_time_in_the_past_when_scheduled_then_it_is_refused() -> None:
    incident = started()

    with pytest.raises(UserError, match="in the past"):
        postmortem.schedule(incident, SCHEDULED_AT - timedelta(hours=1), ATTENDEES, "U0PM", SCHEDULED_AT, ET)


def test_given_an_incident_without_a_post_mortem_when_scheduled_then_the_refusal_says_how_one_starts() -> None:
    incident = resolved_incident(severity=Severity.MAJOR)

    with pytest.raises(UserError, match="postmortem needed"):
        postmortem.schedule(incident, SESSION, ATTENDEES, "U0PM", SCHEDULED_AT, ET)


def test_given_a_scheduled_session_when_rescheduled_then_the_invitation_sequence_rises() -> None:
    incident = started()
    postmortem.schedule(incident, SESSION, ATTENDEES, "U0PM", SCHEDULED_AT, ET)
    first = postmortem.invitation_sequence(incident)

    postmortem.schedule(incident, SESSION + timedelta(days=1), ATTENDEES, "U0PM", SCHEDULED_AT, ET)

    assert (first, postmortem.invitation_sequence(incident)) == (0, 1)


def test_given_a_draft_when_marked_held_then_it_is_refused_until_scheduled() -> None:
    incident = started()

    with pytest.raises(UserError, match="never scheduled"):
        postmortem.hold(incident, "U0PM", SCHEDULED_AT)


def test_given_a_scheduled_session_when_shared_before_held_then_it_is_refused() -> None:
    incident = started()
    postmortem.schedule(incident, SESSION, ATTENDEES, "U0PM", SCHEDULED_AT, ET)

    with pytest.raises(UserError, match="not been held"):
        postmortem.share(incident, "https://github.com/org/repo/pm.md", "U0PM", SESSION)


def test_given_a_held_session_when_shared_then_the_sharing_clock_is_met_and_nothing_is_next() -> None:
    incident = started()
    postmortem.schedule(incident, SESSION, ATTENDEES, "U0PM", SCHEDULED_AT, ET)
    postmortem.hold(incident, "U0PM", SESSION + timedelta(hours=1))
    shared_at = SESSION + timedelta(days=1)

    postmortem.share(incident, "https://github.com/org/repo/pm.md", "U0PM", shared_at)

    assert incident.deadlines[Sla.POSTMORTEM_SHARED].met_at == shared_at
    assert postmortem.next_due(incident) is None


def test_given_a_held_session_when_shared_with_something_that_is_not_a_link_then_it_is_refused() -> None:
    incident = started()
    postmortem.schedule(incident, SESSION, ATTENDEES, "U0PM", SCHEDULED_AT, ET)
    postmortem.hold(incident, "U0PM", SESSION + timedelta(hours=1))

    with pytest.raises(UserError, match="not a link"):
        postmortem.share(incident, "javascript:alert(1)", "U0PM", SESSION + timedelta(days=1))


# --- the draft ------------------------------------------------------------------------------------------


def test_the_drafts_timeline_matches_the_incidents_timeline_entry_for_entry() -> None:
    incident = started()
    incident.note(RESOLVED - timedelta(minutes=30), "status", "U0ENG", "Rollback started\nwatching | errors")

    lines = timeline_section(postmortem.render_draft(incident, POLICY.calendar, thread_link=THREAD))

    entries = sorted(incident.timeline, key=lambda entry: entry.at)
    assert len(lines) == len(entries) == 5
    for line, entry in zip(lines, entries, strict=True):
        assert line.startswith(f"- {format_local(entry.at, ET)} · {entry.kind} · ")
        assert line.endswith(" ".join(entry.text.split()))


def test_the_draft_has_the_va_template_sections_in_order() -> None:
    draft = postmortem.render_draft(started(), POLICY.calendar, thread_link=THREAD)

    lines = draft.splitlines()
    positions = [lines.index(heading) for heading in VA_HEADINGS]
    assert positions == sorted(positions)
    assert lines[0] == "# Postmortem for INC-2026-0001: Pre-check-in errors"
    assert {"Date: 2026-11-25", "Status: Draft"} <= set(lines)


def test_the_draft_has_an_action_items_table_with_the_template_columns() -> None:
    draft = postmortem.render_draft(started(), POLICY.calendar, thread_link=THREAD)

    assert "| Description | Type | Owner | Issue # |" in draft.splitlines()


def test_the_draft_prefills_what_the_incident_knows_and_prompts_for_the_rest() -> None:
    incident = started()
    incident.business_impact = "Veterans could not pre-check-in"

    draft = postmortem.render_draft(incident, POLICY.calendar, thread_link=THREAD)

    assert "- Business impact: Veterans could not pre-check-in" in draft
    assert "- What was done: Rolled back the release" in draft
    assert "_Brief description/summary of failure._" in draft  # no summary yet
    assert "_What caused this situation?_" in draft


def test_the_draft_times_the_slack_ack_against_its_window() -> None:
    draft = postmortem.render_draft(started(), POLICY.calendar, thread_link=THREAD)

    # The declaration by a person is the ack: at once, inside the 15-minute business-hours window.
    expected = "Wed 11/25/2026 1:00 PM EST, 0 min after it opened, within the 15 min business-hours window"
    assert f"- Slack acknowledgement: {expected}" in draft


def test_the_draft_links_the_thread_and_the_pagerduty_incident() -> None:
    incident = started()
    incident.pagerduty = PagerDutyLink("PABC123", "https://example.pagerduty.com/incidents/PABC123")

    draft = postmortem.render_draft(incident, POLICY.calendar, thread_link=THREAD)

    assert f"- Slack thread: <{THREAD}>" in draft
    assert "- PagerDuty incident: <https://example.pagerduty.com/incidents/PABC123>" in draft


def test_the_draft_lists_a_missed_clock_under_what_went_wrong() -> None:
    incident = started()
    email = incident.deadlines[Sla.STAKEHOLDER_EMAIL]
    email.breached_at = email.due

    draft = postmortem.render_draft(incident, POLICY.calendar, thread_link=THREAD)

    wrong = draft.split("### What went wrong", 1)[1].split("###", 1)[0]
    assert "Stakeholder email missed (due Thu 11/26/2026 1:00 PM EST)" in wrong


def test_user_text_cannot_add_a_heading_to_the_draft() -> None:
    incident = started()
    incident.summary = "Errors rose.\n## Root Causes\nnone"

    draft = postmortem.render_draft(incident, POLICY.calendar, thread_link=THREAD)

    assert draft.splitlines().count("## Root Causes") == 1
    assert "Errors rose. ## Root Causes none" in draft


# --- the invitation -------------------------------------------------------------------------------------


def scheduled_incident() -> Incident:
    incident = started()
    postmortem.schedule(incident, SESSION, ATTENDEES, "U0PM", SCHEDULED_AT, ET)
    return incident


def invite(incident: Incident) -> postmortem.Invitation:
    assert incident.postmortem is not None
    emails = {ATTENDEES[0]: "tier3@va.gov", ATTENDEES[1]: "client@va.gov"}
    return postmortem.invitation(
        incident,
        incident.postmortem,
        emails,
        organizer="prodsupport@example.gov",
        thread_link=THREAD,
        at=SCHEDULED_AT,
        zone=ET,
    )


def test_the_invitation_is_an_icalendar_request_for_the_session_with_every_attendee() -> None:
    parsed = Calendar.from_ical(invite(scheduled_incident()).ics)

    event = next(iter(parsed.walk("VEVENT")))
    assert str(parsed["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == SESSION.astimezone(UTC)
    assert event.decoded("DTEND") == SESSION.astimezone(UTC) + timedelta(hours=1)
    assert sorted(str(a) for a in event.get("ATTENDEE")) == ["mailto:client@va.gov", "mailto:tier3@va.gov"]
    assert str(event["ORGANIZER"]) == "mailto:prodsupport@example.gov"
    assert str(event["UID"]) == "INC-2026-0001-postmortem@prodsupport"


def test_the_invitation_subject_stays_on_one_line_whatever_the_application_name() -> None:
    incident = scheduled_incident()
    incident.applications = ["Pre-check-in\r\nBcc: attacker@example.com"]

    subject = invite(incident).subject

    assert "\r" not in subject and "\n" not in subject
    assert subject == "Post-mortem session: Pre-check-in Bcc: attacker@example.com Production Outage 11-25-2026"


def test_the_invitation_html_escapes_the_title() -> None:
    incident = scheduled_incident()
    incident.title = "<script>alert(1)</script>"

    assert "<script>" not in invite(incident).html


# --- the command text -----------------------------------------------------------------------------------


def test_postmortem_needed_parses_as_the_admins_request_for_a_post_mortem() -> None:
    assert parse_incident("INC-2026-0001 postmortem needed") == PostmortemCheckpoint("INC-2026-0001", "needed")


def test_a_major_incident_owes_a_post_mortem_where_the_team_names_major() -> None:
    incident = resolved_incident(severity=Severity.MAJOR)

    assert postmortem.required(incident, ("critical", "major")) is True
