"""The stakeholder email from Slack: who may send it, the prefilled form, the request, and the invite import.

The PM owns the email (the backup while the PM is out) and admins may step in; anyone else gets a clear
refusal and nothing is stored. A request is recorded on the incident and its request item stored in one
transaction (an `EmailRecord`, with any edits made in the form), then queued by `email_requests.queue`;
the email sender does the rest. SQS cannot join a DynamoDB transaction, so the DynamoDB write comes first:
if queueing then fails, the record is marked failed and the person is told to try again, and a crash in
between leaves a `queued` record that never sends, which the 24-hour clock still reminds and breaches.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from copy import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.email.requests import MAX_RECIPIENTS, EmailRequest, queue
from prodsupport.email.stakeholder import render, subject
from prodsupport.incident.flows import post_status
from prodsupport.incident.messages import mention
from prodsupport.incident.model import Incident, Sla
from prodsupport.incident.next_update import parse_next_update_field
from prodsupport.infra.blocks import input_block, text_input
from prodsupport.infra.dynamo import ConditionFailed
from prodsupport.infra.slack_api import post
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.roster import out_of_office
from prodsupport.roster.invite import MAX_INVITE_BYTES, InviteError, addresses
from prodsupport.roster.store import Roster

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
EDITABLE = ("summary", "business_impact", "current_status", "resolution")
MAX_INPUT = 3000  # Slack's limit for a plain_text_input value
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
DOWNLOAD_TIMEOUT_SECONDS = 5
ROSTER_ATTEMPTS = 3


# --- who may send, and to whom ------------------------------------------------------------------------


def _refusal(rt: Runtime, roster: Roster, user: str) -> str | None:
    """Why `user` may not send the stakeholder email now, or None when they may."""
    if not roster.may_send_email(user, rt.settings.admin_user_ids):
        owner = out_of_office.email_owner(rt)
        now = (
            f"{mention(owner)} owns it right now."
            if owner
            else "No PM is set: an admin can set one with `/prodsupport pm @user`."
        )
        return f"Only the PM, the backup PM or a prodsupport admin can send the stakeholder email. {now}"
    if not roster.stakeholders:
        return (
            "The stakeholder list is empty, so there is no one to email. An admin can add the weekly-sync invite "
            "list with `/prodsupport stakeholders add <emails>`, or share the sync's .ics invite in the channel."
        )
    if len(roster.stakeholders) > MAX_RECIPIENTS:
        return (
            f"The stakeholder list has {len(roster.stakeholders)} addresses; the bot emails at most "
            f"{MAX_RECIPIENTS}. Use a distribution list address for the invite list instead."
        )
    if not rt.settings.email_sender:
        return "No sender address is configured (PRODSUPPORT_EMAIL_SENDER), so no email can be sent."
    return None


def _allowed_roster(rt: Runtime, user: str) -> Roster:
    roster = rt.roster.current()
    refusal = _refusal(rt, roster, user)
    if refusal:
        raise UserError(refusal)
    return roster


# --- the request --------------------------------------------------------------------------------------


def _request(rt: Runtime, incident: Incident, roster: Roster, user: str, at: datetime, edits: Mapping[str, str]) -> str:
    """Apply the form's edits, record the request on the incident and store the request item in one write
    (a transaction), then queue it."""
    zone = rt.zone

    def change(current: Incident) -> EmailRequest:
        for field, value in edits.items():
            setattr(current, field, value)
            current.note(at, field, user, value)
        request_id = current.request_email(at, user).request_id
        rendered = render(current, at, zone, rt.settings.email_subject)
        return EmailRequest(
            request_id=request_id,
            kind="incident",
            ref=current.id,
            channel_id=current.channel_id,
            thread_ts=current.thread_ts,
            to=roster.stakeholders,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            requested_at=at,
            requested_by=user,
            owes_clock=Sla.STAKEHOLDER_EMAIL in current.deadlines,
        )

    saved, request = rt.store.mutate(
        incident.channel_id, incident.thread_ts, change, read=incident, also=lambda request: [request.to_item()]
    )
    try:
        queue(rt, request)
    except Exception as exc:
        logger.exception("could not queue the stakeholder email", request_id=request.request_id)
        _mark_not_queued(rt, saved, request.request_id, type(exc).__name__)
        raise UserError("The stakeholder email could not be queued, so nothing was sent. Please try again.") from exc
    return (
        f"Stakeholder email for {saved.id} queued to {len(request.to)} recipient(s): “{esc(request.subject)}”. "
        "The thread will show when it is sent."
    )


def _mark_not_queued(rt: Runtime, incident: Incident, request_id: str, error: str) -> None:
    rt.store.mutate(
        incident.channel_id, incident.thread_ts, lambda current: current.email_not_queued(request_id, error)
    )


def request_email(rt: Runtime, incident: Incident, user: str, at: datetime) -> str:
    """`/incident <id> email`: send now with the incident's current fields."""
    roster = _allowed_roster(rt, user)
    return _request(rt, incident, roster, user, at, {})


# --- the form -----------------------------------------------------------------------------------------


def prefill(incident: Incident) -> dict[str, str]:
    """What the form shows: the incident's fields, the summary falling back to the title as the email does."""
    return {
        "summary": incident.summary or incident.title,
        "business_impact": incident.business_impact,
        "current_status": incident.current_status,
        "resolution": incident.resolution,
    }


def _input(block_id: str, label: str, initial: str, *, optional: bool, multiline: bool = True) -> dict[str, Any]:
    element = text_input(initial=initial[:MAX_INPUT], multiline=multiline)
    return input_block(block_id, label, element, optional=optional)


def email_modal(incident: Incident, recipients: int, email_subject: str) -> dict[str, Any]:
    """The card's email form: the template's editable fields, prefilled; submitting sends the email."""
    fields = prefill(incident)
    return {
        "type": "modal",
        "callback_id": "incident_email",
        "private_metadata": incident.id,
        "title": {"type": "plain_text", "text": "Stakeholder email"},
        "submit": {"type": "plain_text", "text": "Send email"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"To the {recipients} weekly-sync stakeholder(s) · Subject: *{esc(email_subject)}*",
                    }
                ],
            },
            _input("summary", "Incident summary (2-3 sentences)", fields["summary"], optional=False),
            _input("business_impact", "Business impact", fields["business_impact"], optional=True),
            _input("current_status", "Current status", fields["current_status"], optional=True),
            _input("next", "Next update (e.g. 2h, 30m or 14:00 ET)", "", optional=True, multiline=False),
            _input("resolution", "Resolution (empty shows 'Ongoing')", fields["resolution"], optional=True),
        ],
    }


def open_email_modal(rt: Runtime, incident: Incident, trigger_id: str, user: str) -> None:
    """The card's button: the form for those who may send, an ephemeral reason for anyone else."""
    roster = rt.roster.load()
    refusal = _refusal(rt, roster, user)
    if refusal:
        rt.slack.chat_postEphemeral(channel=incident.channel_id, user=user, text=refusal)
        return
    view = email_modal(incident, len(roster.stakeholders), subject(incident, rt.zone, rt.settings.email_subject))
    rt.slack.views_open(trigger_id=trigger_id, view=view)


def submit_email_modal(rt: Runtime, incident: Incident, values: dict[str, Any], user: str, at: datetime) -> None:
    """Check everything first, then apply the edits and request the email: a refusal changes nothing.

    A changed status (or a next-update promise) is a status update like any other, so it goes through
    the status use case: it is posted in the thread and a promise starts its own clock.
    """
    roster = _allowed_roster(rt, user)
    given = {field: str(values.get(field) or "").strip() for field in EDITABLE}
    if not given["summary"]:
        raise UserError("The summary is missing: the email starts with it.")
    promise = parse_next_update_field(str(values.get("next") or ""))
    if promise is not None and not given["current_status"]:
        raise UserError("A next-update time needs a current status to go with it.")
    shown = prefill(incident)
    if given["current_status"] and (given["current_status"] != shown["current_status"] or promise is not None):
        incident = post_status(rt, incident, given["current_status"], promise, user, at)
    edits = {
        field: given[field] for field in ("summary", "business_impact", "resolution") if given[field] != shown[field]
    }
    answer = _request(rt, incident, roster, user, at, edits)
    rt.slack.chat_postEphemeral(channel=incident.channel_id, user=user, text=answer)


# --- the invite list from the weekly sync's .ics -------------------------------------------------------


def _is_invite(file: Mapping[str, Any]) -> bool:
    name = str(file.get("name") or "").lower()
    return name.endswith(".ics") or str(file.get("mimetype") or "").lower() == "text/calendar"


def _checked_download_url(url: str, allowed: frozenset[str]) -> str:
    """Every address the bot token may be sent to: https on Slack's file host (plain http on loopback only)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or parts.netloc not in allowed:
        raise InviteError("Slack gave no download address for the file")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost"):
        raise InviteError("the file's download address is not https")
    return url


def _download(rt: Runtime, file: Mapping[str, Any]) -> bytes:
    """The file's bytes, fetched with the bot token, which is only ever sent to Slack's own file host.

    urllib follows redirects to any host and carries the Authorization header along, so each hop is checked
    like the first address, and the header is dropped whenever a hop changes host.
    """
    allowed = SLACK_FILE_HOSTS | {urlsplit(rt.settings.slack_api_url).netloc}
    url = _checked_download_url(str(file.get("url_private_download") or file.get("url_private") or ""), allowed)

    class SlackHostsOnly(urllib.request.HTTPRedirectHandler):
        def redirect_request(
            self,
            req: urllib.request.Request,
            fp: Any,
            code: int,
            msg: str,
            headers: Any,
            newurl: str,
        ) -> urllib.request.Request | None:
            _checked_download_url(newurl, allowed)
            hop = super().redirect_request(req, fp, code, msg, headers, newurl)
            if hop is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
                hop.remove_header("Authorization")
            return hop

    opener = urllib.request.build_opener(SlackHostsOnly)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {rt.slack_secret['bot_token']}"})  # noqa: S310 - scheme and host checked above
    with opener.open(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
        data: bytes = response.read(MAX_INVITE_BYTES + 1)
    return data


def _merge_stakeholders(rt: Runtime, found: tuple[str, ...]) -> tuple[list[str], int]:
    """Add the invite's addresses that are new (case-insensitively); nobody already listed is dropped."""
    for _ in range(ROSTER_ATTEMPTS):
        roster = rt.roster.load()
        known = {address.lower() for address in roster.stakeholders}
        added = [address for address in found if address.lower() not in known]
        if not added:
            return [], len(roster.stakeholders)
        try:
            saved = rt.roster.save(replace(roster, stakeholders=(*roster.stakeholders, *added)))
        except ConditionFailed:
            continue
        return added, len(saved.stakeholders)
    raise UserError("The stakeholder list kept changing while importing; please share the invite again.")


def import_invite(rt: Runtime, data: bytes) -> tuple[tuple[str, ...], list[str], int]:
    """The invite's addresses, those of them that were new, and the size of the list now."""
    found = addresses(data)
    added, total = _merge_stakeholders(rt, found)
    return found, added, total


def on_file_shared(rt: Runtime, event: dict[str, Any]) -> None:
    """An admin shares the weekly sync's .ics invite in the channel: its people join the stakeholder list."""
    channel = str(event.get("channel_id") or "")
    user = str(event.get("user_id") or "")
    file_id = str(event.get("file_id") or (event.get("file") or {}).get("id") or "")
    if channel != rt.settings.channel_id or user not in rt.settings.admin_user_ids or not file_id:
        return
    try:
        file = rt.slack.files_info(file=file_id).get("file") or {}
    except SlackApiError as exc:
        logger.warning("could not read a shared file", file_id=file_id, error=str(exc.response.get("error")))
        return
    if not _is_invite(file):
        return
    name = str(file.get("name") or file_id)
    try:
        found, added, total = import_invite(rt, _download(rt, file))
    except (InviteError, UserError, OSError) as exc:
        rt.slack.chat_postEphemeral(channel=channel, user=user, text=f"Could not import {esc(name)}: {esc(str(exc))}")
        return
    text = (
        f":calendar: {mention(user)} imported the invite *{esc(name)}*: {len(found)} address(es), "
        f"{len(added)} new. The stakeholder list now has {total}."
    )
    if total > MAX_RECIPIENTS:
        text += f" The bot emails at most {MAX_RECIPIENTS}; use a distribution list address instead."
    post(
        rt.slack,
        SlackMessage(
            channel=channel,
            text=text,
            event_type="stakeholders_imported",
            payload={"file_id": file_id, "found": len(found), "added": len(added), "total": total},
        ),
    )
