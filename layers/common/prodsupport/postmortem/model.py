"""The post-mortem: its lifecycle and deadlines, who must attend, the draft, and the session invitation.

The playbook asks for a post-mortem after every critical outage: a report started from what is known, a
session with tier-3 production support, a representative of the service that had the issue and the client,
and the document shared in Slack afterwards. Everything here is pure: the caller gives the incident, the
policy and the instant, so a replay of the same checkpoints yields the same post-mortem.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args
from zoneinfo import ZoneInfo

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.mrkdwn import plain_text, user_id
from prodsupport.core.rendering import environment, one_line
from prodsupport.core.settings import EMAIL_RE
from prodsupport.core.timefmt import format_local
from prodsupport.github.model import ACTION_TYPES, ActionType
from prodsupport.incident.model import Deadline, Incident, Postmortem, PostmortemState, Severity, Sla, Source
from prodsupport.incident.policy import SlaPolicy

if TYPE_CHECKING:
    from prodsupport.core.calendar import PlaybookCalendar

Role = Literal["tier3", "service", "client"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_LABEL: dict[Role, str] = {
    "tier3": "tier-3 production support",
    "service": "a representative of the service that had the issue",
    "client": "the client",
}
ROLE_ALIASES: dict[str, Role] = {
    "tier3": "tier3",
    "tier-3": "tier3",
    "t3": "tier3",
    "service": "service",
    "svc": "service",
    "client": "client",
}
ATTENDEE_HINT = "`@user:tier3`, `@user:service`, `name@agency.gov:client` (a Slack mention or an email address)"
SESSION_LENGTH = timedelta(hours=1)
MAX_ACTION_TEXT = 3000  # as any command text: the incident is one DynamoDB item
MAX_ATTENDEES = 50  # SES refuses a message with more recipients than this
DRAFT_TEMPLATE = "postmortem.md.j2"
ACTOR = "prodsupport"

_ROLE_SUFFIX_RE = re.compile(r"^(?P<who>.+):(?P<role>[A-Za-z0-9-]+)$")
_MAILTO_RE = re.compile(r"^<mailto:(?P<address>[^|>]+)(?:\|[^>]*)?>$")
_URL_RE = re.compile(r"^https?://[^\s<>\"|]+$")
_SLACK_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class PostmortemCheckpoint:
    """One step of the post-mortem a person takes, from the command or the draft's buttons and forms."""

    incident_id: str
    state: Literal["scheduled", "held", "shared", "needed"]
    scheduled_for: datetime | None = None  # naive wall-clock time in the zone; the flow localises it
    attendees: tuple[str, ...] = ()
    url: str = ""


@dataclass(frozen=True)
class AddActionItem:
    """A post-mortem action item a person files, which becomes a GitHub issue."""

    incident_id: str
    description: str
    type: ActionType | None = None
    team: str = ""


def action_item_from_form(incident_id: str, values: Mapping[str, Any]) -> AddActionItem:
    """The *Add action item* form's fields, checked as `/incident <id> action` checks its text."""
    description = plain_text(str(values.get("description") or "").strip())
    if not description:
        raise UserError("The action item's description is missing.")
    if len(description) > MAX_ACTION_TEXT:
        raise UserError(f"The action item is {len(description)} characters; keep it under {MAX_ACTION_TEXT}.")
    kind = str(values.get("type") or "").lower()
    if kind and kind not in ACTION_TYPES:
        raise UserError(f"`{kind}` is not an action item type: {', '.join(ACTION_TYPES)}.")
    team = plain_text(str(values.get("team") or "").strip())
    return AddActionItem(incident_id, description, kind or None, team)


def parse_session_time(day: str, clock: str, usage: str) -> datetime:
    """`YYYY-MM-DD` and `HH:MM` in the configured zone, naive: the flow localises it with the calendar."""
    try:
        when = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M")  # noqa: DTZ007 - localised by the flow
    except ValueError:
        raise UserError(f"`{day} {clock}` is not `YYYY-MM-DD HH:MM` (ET). Usage: {usage}") from None
    if not 2000 <= when.year <= 2999:
        raise UserError(f"`{day}` is not a date a post-mortem can be held on. Usage: {usage}")
    return when


# --- who attends --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    """Someone invited to the session: a Slack user (emailed at their profile address) or an address."""

    user_id: str = ""
    email: str = ""
    role: Role | None = None

    @property
    def who(self) -> str:
        return self.user_id or self.email

    @property
    def token(self) -> str:
        """The stored form, which reads back through `parse_attendee` to the same attendee."""
        return f"{self.who}:{self.role}" if self.role else self.who


def parse_attendee(token: str) -> Attendee:
    """`<@U123|name>:tier3`, `@U123:service`, `a@b.gov:client`, `<mailto:a@b.gov|a@b.gov>` or without a role.

    A role is a suffix so one person's role travels with them in a single token, in the command and in
    storage alike; an unknown suffix is refused rather than read as part of an address.
    """
    text = token.strip()
    role: Role | None = None
    suffix = _ROLE_SUFFIX_RE.match(text)
    if suffix:
        name = suffix.group("role").lower()
        if name not in ROLE_ALIASES:
            raise UserError(f"`{esc(token)}`: `{esc(name)}` is not a role; use tier3, service or client")
        role = ROLE_ALIASES[name]
        text = suffix.group("who")
    slack_user = user_id(text)
    if slack_user:
        return Attendee(user_id=slack_user, role=role)
    mailto = _MAILTO_RE.match(text)
    address = (mailto.group("address") if mailto else text).lower()
    if EMAIL_RE.match(address):
        return Attendee(email=address, role=role)
    raise UserError(f"`{esc(token)}` is not an attendee I can invite; give each as {ATTENDEE_HINT}")


def parse_attendees(tokens: Iterable[str]) -> tuple[Attendee, ...]:
    """The attendees in the order given, each (person, role) once."""
    attendees: list[Attendee] = []
    for token in tokens:
        attendee = parse_attendee(token)
        if attendee not in attendees:
            attendees.append(attendee)
    if not attendees:
        raise UserError(f"Who attends? Give the attendees as {ATTENDEE_HINT}")
    if len(attendees) > MAX_ATTENDEES:
        raise UserError(f"{len(attendees)} attendees is more than one invitation can carry ({MAX_ATTENDEES}).")
    return tuple(attendees)


def is_email(address: str) -> bool:
    return bool(EMAIL_RE.match(address))


def missing_roles(attendees: Iterable[Attendee]) -> list[Role]:
    """The playbook's roles nobody on the invitation covers, in the playbook's order."""
    covered = {attendee.role for attendee in attendees}
    return [role for role in ROLES if role not in covered]


# --- lifecycle and deadlines ----------------------------------------------------------------------------


def required(incident: Incident, severities: Collection[str] = (Severity.CRITICAL.value,)) -> bool:
    """The playbook asks for one after every critical outage (a team may name more severities,
    `postmortem_severities`); an admin may ask for one on any incident."""
    return incident.severity.value in severities or incident.postmortem_needed


def start(incident: Incident, policy: SlaPolicy, at: datetime) -> None:
    """Open the post-mortem with its two clocks, counted in business days from `at` (the resolution).

    Business days because the session needs people at work: a resolution on the eve of Thanksgiving
    should not have its scheduling deadline fall on the holiday or the weekend after it.
    """
    calendar = policy.calendar
    incident.postmortem = Postmortem(state=PostmortemState.DRAFTED, drafted_at=at)
    scheduled_due = calendar.add_business_days(at, policy.postmortem_schedule_business_days)
    incident.deadlines[Sla.POSTMORTEM_SCHEDULED] = Deadline(due=scheduled_due)
    incident.deadlines[Sla.POSTMORTEM_SHARED] = Deadline(
        due=calendar.add_business_days(at, policy.postmortem_share_business_days)
    )
    by = format_local(scheduled_due, calendar.zone)
    incident.note(at, "postmortem_drafted", ACTOR, f"Post-mortem drafted; schedule the session by {by}")


def next_due(incident: Incident) -> datetime | None:
    """The deadline of the next checkpoint that has one: scheduling while drafted, sharing until shared."""
    postmortem = incident.postmortem
    if postmortem is None or postmortem.state is PostmortemState.SHARED:
        return None
    sla = Sla.POSTMORTEM_SCHEDULED if postmortem.state is PostmortemState.DRAFTED else Sla.POSTMORTEM_SHARED
    deadline = incident.deadlines.get(sla)
    return deadline.due if deadline else None


def _current(incident: Incident) -> Postmortem:
    if incident.postmortem is None:
        raise UserError(
            f"{incident.id} has no post-mortem. One starts when a critical incident is resolved, "
            f"or when an admin runs `/incident {incident.id} postmortem needed`."
        )
    return incident.postmortem


def check_schedulable(incident: Incident, when: datetime, at: datetime, zone: ZoneInfo) -> Postmortem:
    """Scheduling again (a new time or new people) is allowed until the session is held."""
    postmortem = _current(incident)
    if postmortem.state not in (PostmortemState.DRAFTED, PostmortemState.SCHEDULED):
        raise UserError(f"The post-mortem of {incident.id} was already {postmortem.state.value}; it stays as it is.")
    if when <= at:
        raise UserError(f"{format_local(when, zone)} is in the past; give a future date and time (ET).")
    return postmortem


def schedule(
    incident: Incident, when: datetime, attendees: tuple[Attendee, ...], user: str, at: datetime, zone: ZoneInfo
) -> Postmortem:
    """Record the session and meet the scheduling clock (late, if it was already breached)."""
    postmortem = check_schedulable(incident, when, at, zone)
    postmortem.state = PostmortemState.SCHEDULED
    postmortem.scheduled_for = when
    postmortem.attendees = [attendee.token for attendee in attendees]
    incident.meet(Sla.POSTMORTEM_SCHEDULED, at)
    who = ", ".join(postmortem.attendees)
    incident.note(at, "postmortem_scheduled", user, f"Session {format_local(when, zone)} with {who}")
    return postmortem


def hold(incident: Incident, user: str, at: datetime) -> Postmortem:
    postmortem = _current(incident)
    if postmortem.state is PostmortemState.DRAFTED:
        raise UserError(
            f"The post-mortem session of {incident.id} was never scheduled; schedule it first with "
            f"`/incident {incident.id} postmortem scheduled <YYYY-MM-DD HH:MM> <attendees…>`."
        )
    if postmortem.state is not PostmortemState.SCHEDULED:
        raise UserError(f"The post-mortem of {incident.id} was already {postmortem.state.value}.")
    postmortem.state = PostmortemState.HELD
    incident.note(at, "postmortem_held", user, "Post-mortem session held")
    return postmortem


def share(incident: Incident, url: str, user: str, at: datetime, *, require_held: bool = True) -> Postmortem:
    """`require_held` is off for a merged pull request: its reviewers decided the document is done."""
    postmortem = _current(incident)
    if not _URL_RE.match(url):
        raise UserError(f"`{url}` is not a link; give the post-mortem document's https:// URL.")
    if postmortem.state is PostmortemState.SHARED:
        raise UserError(f"The post-mortem of {incident.id} was already shared: {postmortem.url}")
    if require_held and postmortem.state is not PostmortemState.HELD:
        raise UserError(
            f"The post-mortem session of {incident.id} has not been held yet; "
            f"run `/incident {incident.id} postmortem held` after the session, then share the document."
        )
    postmortem.state = PostmortemState.SHARED
    postmortem.url = url
    incident.meet(Sla.POSTMORTEM_SHARED, at)
    incident.note(at, "postmortem_shared", user, url)
    return postmortem


def invitation_sequence(incident: Incident) -> int:
    """How many times the session was scheduled before this one: the invitation's SEQUENCE.

    Calendars replace an event they hold when the same UID arrives with a higher SEQUENCE, so a
    reschedule moves the meeting instead of adding a second one.
    """
    return max(0, sum(1 for entry in incident.timeline if entry.kind == "postmortem_scheduled") - 1)


# --- the draft ------------------------------------------------------------------------------------------


def url(value: object) -> str:
    """A link as an autolink when it is one, else plain text, so a `)` or space cannot break out of it."""
    text = one_line(value)
    return f"<{text}>" if _URL_RE.match(text) else text


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {mins:02d} min"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def _actor(actor: str) -> str:
    return f"@{actor}" if _SLACK_USER_RE.match(actor) else actor


_FOUND_BY = {
    Source.SLASH_COMMAND: "declared in Slack with `/incident`",
    Source.MESSAGE_SHORTCUT: "declared in Slack from a message (the Declare incident shortcut)",
    Source.ALERT_MESSAGE: "an alert posted in the incident channel",
    Source.PAGERDUTY: "a PagerDuty incident",
}
_WINDOW = {"business": "business-hours", "after_hours": "after-hours"}
_SLA_NAME = {
    Sla.SLACK_ACK: "Slack acknowledgement",
    Sla.PAGERDUTY_ACK: "PagerDuty acknowledgement",
    Sla.STAKEHOLDER_EMAIL: "Stakeholder email",
    Sla.STATUS_UPDATE: "Promised status update",
}


def _ack_line(incident: Incident, sla: Sla, zone: ZoneInfo) -> str:
    deadline = incident.deadlines.get(sla)
    if deadline is None:
        return "no PagerDuty incident was linked" if sla is Sla.PAGERDUTY_ACK else "not tracked"
    window = f"the {_duration(deadline.due - incident.opened_at)} {_WINDOW[incident.window]} window"
    if deadline.met_at is None:
        return f"not acknowledged within {window} (due {format_local(deadline.due, zone)})"
    verdict = "within" if deadline.met_at <= deadline.due else "**outside**"
    took = _duration(deadline.met_at - incident.opened_at)
    return f"{format_local(deadline.met_at, zone)}, {took} after it opened, {verdict} {window}"


def _clock_lessons(incident: Incident, zone: ZoneInfo) -> tuple[list[str], list[str]]:
    """The playbook clocks that were kept and those that were not: facts the session should start from."""
    well: list[str] = []
    wrong: list[str] = []
    for sla, name in _SLA_NAME.items():
        deadline = incident.deadlines.get(sla)
        if deadline is None:
            continue
        if deadline.met_at is not None and deadline.met_at <= deadline.due:
            well.append(
                f"{name} on time ({format_local(deadline.met_at, zone)}, due {format_local(deadline.due, zone)})"
            )
        elif deadline.met_at is not None:
            wrong.append(f"{name} late ({format_local(deadline.met_at, zone)}, due {format_local(deadline.due, zone)})")
        elif deadline.breached_at is not None:
            wrong.append(f"{name} missed (due {format_local(deadline.due, zone)})")
    return well, wrong


def draft_context(incident: Incident, zone: ZoneInfo, *, thread_link: str) -> dict[str, Any]:
    """Everything the template shows, as display strings or None where people must fill it in.

    Links arrive already made safe by `url`; other user text goes through the template's `one_line`
    filter, which keeps it from forming the headings, lists and table rows the draft's shape relies on.
    """
    well, wrong = _clock_lessons(incident, zone)
    ended = incident.ended_at
    pagerduty = incident.pagerduty
    return {
        "incident": incident,
        "date": incident.opened_at.astimezone(zone).date().isoformat(),
        "drafted": format_local(incident.postmortem.drafted_at, zone) if incident.postmortem else None,
        "opened": format_local(incident.opened_at, zone),
        "window": "business-hours" if incident.window == "business" else "after-hours",
        "ended": format_local(ended, zone) if ended else None,
        "duration": _duration(ended - incident.opened_at) if ended else None,
        "found_by": _FOUND_BY[incident.source],
        "declared_by": _actor(incident.declared_by) if incident.declared_by else None,
        "slack_ack": _ack_line(incident, Sla.SLACK_ACK, zone),
        "pagerduty_ack": _ack_line(incident, Sla.PAGERDUTY_ACK, zone),
        "thread_link": url(thread_link),
        "pagerduty": url(pagerduty.url or pagerduty.incident_id) if pagerduty else None,
        "emails": [
            {"at": format_local(email.sent_at, zone), "message_id": email.message_id}
            for email in incident.emails
            if email.sent_at is not None
        ],
        "partners": [
            {"at": format_local(tag.at, zone), "name": tag.name, "by": _actor(tag.by), "paged": tag.paged}
            for tag in sorted(incident.partners, key=lambda tag: tag.at)
        ],
        "went_well": well,
        "went_wrong": wrong,
        "zone": zone.key,
        "timeline": [
            {"at": format_local(entry.at, zone), "kind": entry.kind, "actor": _actor(entry.actor), "text": entry.text}
            for entry in sorted(incident.timeline, key=lambda entry: entry.at)
        ],
    }


def render_draft(incident: Incident, calendar: PlaybookCalendar, *, thread_link: str) -> str:
    """The report in the shape of the VA post-mortem template, prefilled wherever the incident knows."""
    template = environment().get_template(DRAFT_TEMPLATE)
    return template.render(draft_context(incident, calendar.zone, thread_link=thread_link))


def thread_reference(incident: Incident) -> str:
    """The thread by channel and ts, where no permalink is at hand (Slack unreachable, a local preview)."""
    return f"Slack channel {incident.channel_id}, thread {incident.thread_ts}"


def draft_filename(incident: Incident) -> str:
    return f"{incident.id}-postmortem.md"


# --- the session invitation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """The session invitation email: a plain and an HTML body and the iCalendar REQUEST attached."""

    subject: str
    text: str
    html: str
    ics: bytes


def invitation(
    incident: Incident,
    postmortem: Postmortem,
    emails: Mapping[Attendee, str],
    *,
    organizer: str,
    thread_link: str,
    at: datetime,
    zone: ZoneInfo,
) -> Invitation:
    """The METHOD:REQUEST invitation, with one UID per incident so a reschedule updates the same event."""
    assert postmortem.scheduled_for is not None
    when = format_local(postmortem.scheduled_for, zone)
    opened = incident.opened_at.astimezone(zone)
    subject = one_line(f"Post-mortem session: {incident.primary_application} Production Outage {opened:%m-%d-%Y}")
    fields = {
        "incident_id": incident.id,
        "title": incident.title,
        "when": when,
        "minutes": int(SESSION_LENGTH.total_seconds() // 60),
        "roles": "; ".join(ROLE_LABEL[role] for role in ROLES),
        "thread_link": thread_link,
    }
    env = environment()
    text = env.get_template("postmortem_invitation.txt.j2").render(fields)
    body = env.get_template("postmortem_invitation.html.j2").render(fields)
    ics = _ics(incident, postmortem, emails, organizer, thread_link, at)
    return Invitation(subject=subject, text=text, html=body, ics=ics)


def _ics(
    incident: Incident,
    postmortem: Postmortem,
    emails: Mapping[Attendee, str],
    organizer: str,
    thread_link: str,
    at: datetime,
) -> bytes:
    from icalendar import Calendar, Event, vCalAddress, vText  # noqa: PLC0415 - cold start: only scheduling writes one

    assert postmortem.scheduled_for is not None
    calendar = Calendar()
    calendar.add("prodid", "-//prodsupport//post-mortem//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"{incident.id}-postmortem@prodsupport")
    event.add("sequence", invitation_sequence(incident))
    event.add("dtstamp", at)
    event.add("dtstart", postmortem.scheduled_for)
    event.add("dtend", postmortem.scheduled_for + SESSION_LENGTH)
    event.add("summary", one_line(f"Post-mortem: {incident.id} {incident.title}"))
    event.add("description", f"Post-mortem session for {incident.id}. Incident thread: {thread_link}")
    if organizer:
        organizer_address = vCalAddress(f"mailto:{organizer}")
        organizer_address.params["CN"] = vText("prodsupport")
        event["organizer"] = organizer_address
    for attendee, address in emails.items():
        invitee = vCalAddress(f"mailto:{address}")
        invitee.params["ROLE"] = vText("REQ-PARTICIPANT")
        invitee.params["PARTSTAT"] = vText("NEEDS-ACTION")
        invitee.params["RSVP"] = vText("TRUE")
        if attendee.role:
            invitee.params["X-PRODSUPPORT-ROLE"] = vText(attendee.role)
        event.add("attendee", invitee, encode=False)
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics
