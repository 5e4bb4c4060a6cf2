"""The post-mortem use cases behind Slack: drafted on resolve, then scheduled, held and shared.

Each checkpoint is one conditional change of the incident (re-checked inside `store.mutate`, so two people
pressing the same button make one change), then what the change owes the outside world: the draft file, the
invitation email, the `postmortem_update` message. State is written before anything is posted.
"""

from __future__ import annotations

from copy import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.core.mrkdwn import link
from prodsupport.core.timefmt import format_local, to_iso
from prodsupport.email.requests import Attachment, EmailRequest, enqueue
from prodsupport.incident import flows as incident_flow
from prodsupport.incident.messages import incident_updated, mention
from prodsupport.incident.model import Incident, Sla, Status
from prodsupport.infra.blocks import actions, button, input_block, section, text_input
from prodsupport.infra.outbox import deliver
from prodsupport.infra.slack_api import post
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.postmortem import model as postmortem
from prodsupport.postmortem.messages import update
from prodsupport.postmortem.model import ROLE_LABEL, AddActionItem, Attendee, PostmortemCheckpoint

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
SCHEDULE_USAGE = (
    "`/incident {id} postmortem scheduled <YYYY-MM-DD HH:MM> @user:tier3 @user:service name@agency.gov:client`"
)
ICS_CONTENT_TYPE = "text/calendar; method=REQUEST"
# Longer than the function timeout: a resolve still uploading the draft is not raced by a second one.
DRAFT_LEASE = timedelta(seconds=15)


# --- starting -------------------------------------------------------------------------------------------


def owed(rt: Runtime, incident: Incident) -> bool:
    """A resolved incident whose required post-mortem was never started, or whose draft never reached the
    thread (a failed resolve left it so)."""
    if incident.postmortem is None:
        return postmortem.required(incident, rt.settings.postmortem_severities)
    return incident.postmortem.draft_pending_since is not None


def resolve_incident(rt: Runtime, incident: Incident, text: str, user: str, at: datetime) -> Incident:
    """Resolving, from Slack or PagerDuty: the incident's transition, then its post-mortem when one is owed.

    Resolving an incident that is already resolved repairs what a failed first attempt left undone (its
    "resolved" post, its post-mortem or the draft's post) and otherwise says it is already resolved.
    """
    saved, resolved_now = incident_flow.resolve(rt, incident, text, user, at)
    if not resolved_now and not owed(rt, saved):
        raise UserError(f"{incident.id} is already resolved.")
    return on_resolved(rt, saved, at)


def on_resolved(rt: Runtime, incident: Incident, at: datetime) -> Incident:
    """After every resolve: a critical incident, or one an admin asked for, gets its post-mortem started.

    With GitHub configured, a resolve seen again finishes what a failed first one left: the pull request.
    """
    if not owed(rt, incident):
        if incident.postmortem is not None and rt.settings.github_repo and incident.postmortem.pull_request is None:
            from prodsupport.postmortem import github_pr as postmortem_pr  # noqa: PLC0415 - cold start: the GitHub path loads only where GitHub is configured

            return postmortem_pr.publish(rt, incident, at, thread_link=_thread_link(rt, incident))
        return incident
    return _start(rt, incident, at)


def _start(rt: Runtime, incident: Incident, at: datetime) -> Incident:
    """Start the post-mortem, or take over a draft still unposted once its poster's lease ran out (a resolve
    racing one still uploading leaves the draft to it, so the thread gets one file)."""
    now = rt.clock()

    def change(current: Incident) -> bool | None:
        """False: a draft just started; True: an unposted draft taken over; None: nothing to post."""
        if current.postmortem is None:
            postmortem.start(current, rt.policy, at)
            assert current.postmortem is not None
            current.postmortem.draft_pending_since = now
            return False
        since = current.postmortem.draft_pending_since
        if since is None or now - since < DRAFT_LEASE:
            return None
        current.postmortem.draft_pending_since = now
        return True

    saved, repair = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    if repair is None:
        return saved
    return _publish_draft(rt, saved, at, repair=repair)


def _thread_link(rt: Runtime, incident: Incident) -> str:
    """The thread's permalink; without one the draft still names the thread rather than failing the resolve."""
    try:
        response = rt.slack.chat_getPermalink(channel=incident.channel_id, message_ts=incident.thread_ts)
    except SlackApiError:
        logger.warning("no permalink for the incident thread", incident_id=incident.id)
        return postmortem.thread_reference(incident)
    return str(response["permalink"])


def _publish_draft(rt: Runtime, incident: Incident, at: datetime, *, repair: bool) -> Incident:
    """The draft as a Markdown file in the thread, then the message that carries the checkpoints (looked for
    first when repairing); only then is the draft recorded as posted. With GitHub configured, then the pull
    request that holds the report in the VA's post-mortems folder."""
    thread_link = _thread_link(rt, incident)
    rt.slack.files_upload_v2(
        channel=incident.channel_id,
        thread_ts=incident.thread_ts,
        filename=postmortem.draft_filename(incident),
        title=f"Post-mortem draft: {incident.id}",
        content=postmortem.render_draft(incident, rt.policy.calendar, thread_link=thread_link),
    )
    deliver(rt, drafted_message(incident, zone=rt.zone), look_first=repair)

    def posted(current: Incident) -> None:
        if current.postmortem is not None:
            current.postmortem.draft_pending_since = None

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, posted)
    if not rt.settings.github_repo:
        return saved
    from prodsupport.postmortem import github_pr as postmortem_pr  # noqa: PLC0415 - cold start: the GitHub path loads only where GitHub is configured

    return postmortem_pr.publish(rt, saved, at, thread_link=thread_link)


def action_item(rt: Runtime, incident: Incident, command: AddActionItem, user: str, at: datetime) -> str:
    """`/incident <id> action …`: the item becomes a GitHub issue and a row of the report's table."""
    from prodsupport.postmortem import github_pr as postmortem_pr  # noqa: PLC0415 - cold start: the GitHub path loads only where GitHub is configured

    return postmortem_pr.add_action_item(
        rt,
        incident,
        command.description,
        command.type,
        command.team,
        user,
        at,
        thread_link=_thread_link(rt, incident),
    )


# --- the messages ---------------------------------------------------------------------------------------


def _button(text: str, kind: str, incident: Incident, style: str | None = None) -> dict[str, Any]:
    return button(text, f"incident_postmortem_{kind}", incident.id, style)


def drafted_message(incident: Incident, *, zone: ZoneInfo) -> SlackMessage:
    scheduled = incident.deadlines[Sla.POSTMORTEM_SCHEDULED].due
    shared = incident.deadlines[Sla.POSTMORTEM_SHARED].due
    tier3, service, client = ROLE_LABEL.values()
    text = (
        f":memo: *Post-mortem for {incident.id}* drafted from the incident (the file above). "
        f"{mention(incident.owner)}, please schedule the session by *{format_local(scheduled, zone)}* "
        f"(invite {tier3}, {service} and {client}), "
        f"and share the document in Slack by *{format_local(shared, zone)}*.\n"
        f"{esc(SCHEDULE_USAGE.format(id=incident.id))}"
    )
    blocks = [
        section(text),
        actions(
            "postmortem_actions",
            [
                _button("Schedule session", "schedule", incident, "primary"),
                _button("Session held", "held", incident),
                _button("Share document", "share", incident),
            ],
        ),
    ]
    return replace(update(incident, text, blocks=blocks), effect_id=f"{incident.id}/postmortem_drafted")


def _who(attendee: Attendee) -> str:
    return mention(attendee.user_id) if attendee.user_id else esc(attendee.email)


def _attendee_line(attendee: Attendee) -> str:
    return f"{_who(attendee)} ({ROLE_LABEL[attendee.role]})" if attendee.role else _who(attendee)


def _missing_line(missing: list[postmortem.Role]) -> str:
    names = " and ".join(ROLE_LABEL[role] for role in missing)
    return f":warning: Nobody is invited as {names}; the playbook asks for them. Schedule again to add them."


def scheduled_message(
    incident: Incident,
    attendees: tuple[Attendee, ...],
    invitation: str,
    unreachable: list[Attendee],
    user: str,
    *,
    zone: ZoneInfo,
) -> SlackMessage:
    assert incident.postmortem is not None and incident.postmortem.scheduled_for is not None
    missing = postmortem.missing_roles(attendees)
    lines = [
        f":calendar: The post-mortem session for *{incident.id}* is scheduled for "
        f"*{format_local(incident.postmortem.scheduled_for, zone)}* by {mention(user)}, with "
        f"{', '.join(_attendee_line(attendee) for attendee in attendees)}."
    ]
    if missing:
        lines.append(_missing_line(missing))
    lines.append(invitation)
    if unreachable:
        lines.append(
            f"No email address for {', '.join(_who(attendee) for attendee in unreachable)}: "
            "invite them by address (`name@agency.gov:role`)."
        )
    shared = incident.deadlines[Sla.POSTMORTEM_SHARED].due
    lines.append(
        f"After the session: `/incident {incident.id} postmortem held`; "
        f"share the document by {format_local(shared, zone)}."
    )
    return update(
        incident,
        "\n".join(lines),
        scheduled_for=to_iso(incident.postmortem.scheduled_for),
        missing_roles=list(missing),
    )


def held_message(incident: Incident, user: str, *, zone: ZoneInfo) -> SlackMessage:
    shared = incident.deadlines[Sla.POSTMORTEM_SHARED].due
    text = (
        f":white_check_mark: The post-mortem session for *{incident.id}* was held (marked by {mention(user)}). "
        f"Share the document in Slack by *{format_local(shared, zone)}*: "
        f"`/incident {incident.id} postmortem shared &lt;url&gt;`."
    )
    return update(incident, text)


def shared_message(incident: Incident, user: str, *, zone: ZoneInfo) -> SlackMessage:
    assert incident.postmortem is not None
    deadline = incident.deadlines[Sla.POSTMORTEM_SHARED]
    verdict = "on time" if deadline.met_in_time() else f"after its due date ({format_local(deadline.due, zone)})"
    text = (
        f":page_facing_up: The post-mortem for *{incident.id}* {esc(incident.title)} is shared by {mention(user)}, "
        f"{verdict}: <{esc(incident.postmortem.url)}>"
    )
    return update(incident, text, url=incident.postmortem.url)


# --- checkpoints ----------------------------------------------------------------------------------------


def checkpoint(rt: Runtime, incident: Incident, command: PostmortemCheckpoint, user: str, at: datetime) -> str:
    """`/incident <id> postmortem needed|scheduled|held|shared`; the reply is the person's confirmation."""
    match command.state:
        case "needed":
            return _mark_needed(rt, incident, user, at)
        case "scheduled":
            return _schedule(rt, incident, command, user, at)
        case "held":
            return _hold(rt, incident, user, at)
    return _share(rt, incident, command.url, user, at)


def _mark_needed(rt: Runtime, incident: Incident, user: str, at: datetime) -> str:
    """An admin asks for a post-mortem of a non-critical incident: now if resolved, else on resolve."""
    if user not in rt.settings.admin_user_ids:
        raise UserError("Only prodsupport admins can ask for a post-mortem; critical incidents get one anyway.")
    if incident.postmortem is not None:
        return f"{incident.id} already has a post-mortem ({incident.postmortem.state.value})."
    if incident.status is Status.RESOLVED:
        _start(rt, _mark(rt, incident, user, at), at)
        return f"Post-mortem of {incident.id} started; the draft is in the thread."
    if postmortem.required(incident, rt.settings.postmortem_severities):
        return f"{incident.id} will get its post-mortem when it is resolved."
    saved = _mark(rt, incident, user, at)
    post(
        rt.slack,
        incident_updated(
            saved,
            field="postmortem_needed",
            text=f":memo: {mention(user)} asked for a post-mortem of {incident.id}; it is drafted when resolved.",
        ),
    )
    return f"{incident.id} will get a post-mortem when it is resolved."


def _mark(rt: Runtime, incident: Incident, user: str, at: datetime) -> Incident:
    def change(current: Incident) -> None:
        if not current.postmortem_needed:
            current.postmortem_needed = True
            current.note(at, "postmortem_needed", user, "Post-mortem requested")

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    return saved


def _emails(rt: Runtime, attendees: tuple[Attendee, ...]) -> tuple[dict[Attendee, str], list[Attendee]]:
    """Each attendee's address: as given, or a Slack user's profile email (users.info, then users.profile.get)."""
    found: dict[Attendee, str] = {}
    unreachable: list[Attendee] = []
    for attendee in attendees:
        if attendee.email:
            found[attendee] = attendee.email
            continue
        address = ""
        try:
            profile = (rt.slack.users_info(user=attendee.user_id)["user"] or {}).get("profile") or {}
            address = str(profile.get("email") or "")
            if not address:
                address = str((rt.slack.users_profile_get(user=attendee.user_id)["profile"] or {}).get("email") or "")
        except SlackApiError:
            address = ""
        if postmortem.is_email(address):
            found[attendee] = address.lower()
        else:
            unreachable.append(attendee)
    return found, unreachable


def _schedule(rt: Runtime, incident: Incident, command: PostmortemCheckpoint, user: str, at: datetime) -> str:
    zone = rt.zone
    if command.scheduled_for is None:
        raise UserError(f"The date and time are missing. Usage: {SCHEDULE_USAGE.format(id=incident.id)}")
    attendees = postmortem.parse_attendees(command.attendees)
    when = command.scheduled_for.replace(tzinfo=zone).astimezone(UTC)
    postmortem.check_schedulable(incident, when, at, zone)
    emails, unreachable = _emails(rt, attendees)

    def change(current: Incident) -> None:
        postmortem.schedule(current, when, attendees, user, at, zone)

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    assert saved.postmortem is not None
    addresses = tuple(dict.fromkeys(emails.values()))
    if not addresses:
        invitation = "No calendar invitation was emailed: nobody on the list has an email address."
    elif _invite(rt, saved, emails, addresses, user, at):
        invitation = f"A calendar invitation is on its way to {len(addresses)} address(es)."
    else:
        invitation = ":x: The calendar invitation could not be queued; schedule again to resend it."
    post(rt.slack, scheduled_message(saved, attendees, invitation, unreachable, user, zone=rt.zone))
    missing = postmortem.missing_roles(attendees)
    reply = f"Post-mortem session of {incident.id} scheduled for {format_local(when, zone)}."
    return f"{reply}\n{_missing_line(missing)}" if missing else reply


def _invite(
    rt: Runtime,
    incident: Incident,
    emails: dict[Attendee, str],
    addresses: tuple[str, ...],
    user: str,
    at: datetime,
) -> bool:
    """The invitation goes the way every email goes: a stored request, queued, sent once by the sender.

    The session is already recorded, so a failure to queue is reported rather than raised: scheduling
    again sends a new invitation (a higher SEQUENCE), which calendars treat as the same event.
    """
    assert incident.postmortem is not None
    sequence = postmortem.invitation_sequence(incident)
    invite = postmortem.invitation(
        incident,
        incident.postmortem,
        emails,
        organizer=rt.settings.email_sender,
        thread_link=_thread_link(rt, incident),
        at=at,
        zone=rt.zone,
    )
    request = EmailRequest(
        request_id=f"{incident.id}-postmortem-invite-{sequence}",
        kind="postmortem_invite",
        ref=incident.id,
        channel_id=incident.channel_id,
        thread_ts=incident.thread_ts,
        to=addresses,
        subject=invite.subject,
        text=invite.text,
        html=invite.html,
        requested_at=at,
        requested_by=user,
        attachments=(Attachment(f"{incident.id}-postmortem.ics", ICS_CONTENT_TYPE, invite.ics.decode()),),
    )
    try:
        enqueue(rt, request)
    except Exception:
        logger.exception("could not queue the post-mortem invitation", request_id=request.request_id)
        return False
    return True


def _hold(rt: Runtime, incident: Incident, user: str, at: datetime) -> str:
    def change(current: Incident) -> None:
        postmortem.hold(current, user, at)

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    post(rt.slack, held_message(saved, user, zone=rt.zone))
    return f"Post-mortem session of {incident.id} marked as held."


def _share(rt: Runtime, incident: Incident, url: str, user: str, at: datetime) -> str:
    """Shared in the channel, not only the thread: the playbook shares the document through Slack."""

    def change(current: Incident) -> None:
        postmortem.share(current, url, user, at)

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    if rt.settings.github_repo:
        from prodsupport.postmortem import github_tracking as tracking  # noqa: PLC0415 - cold start: the GitHub path loads only where GitHub is configured

        tracking.forget_pull(rt.table, saved.id)  # shared by hand: its pull request is no longer open work
    message = shared_message(saved, user, zone=rt.zone)
    rt.slack.chat_postMessage(
        channel=message.channel,
        thread_ts=message.thread_ts,
        reply_broadcast=True,
        text=message.text,
        metadata={"event_type": message.event_type, "event_payload": message.payload},
    )
    return f"Post-mortem of {incident.id} shared in <#{incident.channel_id}>."


# --- buttons and forms ----------------------------------------------------------------------------------


def _input(block_id: str, label: str, placeholder: str) -> dict[str, Any]:
    return input_block(block_id, label, text_input(placeholder=placeholder))


def modal(incident: Incident, kind: str) -> dict[str, Any]:
    """The draft message's forms; their fields are the slash command's arguments, checked by the same rules."""
    if kind == "schedule":
        title = "Schedule post-mortem"
        blocks = [
            _input("when", "Date and time (ET)", "2026-12-01 14:00"),
            _input("attendees", "Attendees with their roles", "@user:tier3 @user:service name@agency.gov:client"),
        ]
    else:
        title = "Share post-mortem"
        blocks = [_input("url", "Link to the post-mortem document", "https://…")]
    return {
        "type": "modal",
        "callback_id": f"postmortem_{kind}",
        "private_metadata": incident.id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": blocks,
    }


def submit_modal(rt: Runtime, incident: Incident, kind: str, values: dict[str, Any], user: str, at: datetime) -> None:
    """A submitted form becomes the checkpoint it stands for, read field by field; the rules are the command's."""
    if kind == "schedule":
        usage = "`YYYY-MM-DD HH:MM` (ET), e.g. 2026-12-01 14:00"
        when = str(values.get("when") or "").split()
        if len(when) != 2:
            raise UserError(f"The date and time are missing. Usage: {usage}")
        scheduled_for = postmortem.parse_session_time(when[0], when[1], usage)
        attendees = tuple(str(values.get("attendees") or "").split())
        command = PostmortemCheckpoint(incident.id, "scheduled", scheduled_for=scheduled_for, attendees=attendees)
    elif kind == "share":
        url = str(values.get("url") or "").split()
        if not url:
            raise UserError("The post-mortem link is missing.")
        command = PostmortemCheckpoint(incident.id, "shared", url=link(url[0]))
    elif kind == "action":
        action_item(rt, incident, postmortem.action_item_from_form(incident.id, values), user, at)
        return
    else:
        raise UserError("This form is not one prodsupport knows; close it and use the buttons again.")
    checkpoint(rt, incident, command, user, at)
