"""The release use cases: `/release` and its form, the weekly-sync digest, and the release-day email.

The playbook announces a release at the weekly sync weeks ahead and emails the sync's invite list on the
day. Every change is stored before it is posted, and every post carries the metadata of docs/design.md. The
release-day email goes through the same request + queue path as the stakeholder email, under a request id
fixed per release, so two runs of the job, a scheduler retry or an announcement on the day itself all
send it once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import escape_mrkdwn as esc
from prodsupport.email import requests as email_requests
from prodsupport.infra.blocks import input_block, text_input
from prodsupport.infra.slack_api import post
from prodsupport.infra.slack_message import SlackMessage
from prodsupport.release.model import (
    FORM_CALLBACK_ID,
    MAX_APPLICATION,
    MAX_NOTES,
    MAX_SUMMARY,
    Release,
    ReleaseInputError,
    ReleaseStatus,
    check_link,
    check_text,
    day_warning,
    format_day,
    format_release_id,
    parse_day,
    release_email,
)
from prodsupport.release.store import ReleaseNotFound, ReleaseNotScheduled, ReleaseSlotTaken, ReleaseStore

if TYPE_CHECKING:
    from prodsupport.core.calendar import PlaybookCalendar
    from prodsupport.runtime import Runtime

logger = Logger(child=True)


def _releases(rt: Runtime) -> ReleaseStore:
    return ReleaseStore(rt.table, rt.team_id)


def _calendar(rt: Runtime) -> PlaybookCalendar:
    return rt.policy.calendar


# --- the form -----------------------------------------------------------------------------------------


def submit_modal(rt: Runtime, values: dict[str, Any], user: str, at: dt.datetime) -> None:
    """The form's submission (callback `release_create`); a refusal is shown on the form, nothing is stored."""
    try:
        application = check_text(str(values.get("application") or ""), "application", MAX_APPLICATION, required=True)
        day = parse_day(str(values.get("date") or ""))
        summary = check_text(str(values.get("summary") or ""), "summary", MAX_SUMMARY, required=True)
        notes = check_text(str(values.get("notes") or ""), "release notes", MAX_NOTES, required=False)
        link = check_link(str(values.get("link") or ""))
    except ReleaseInputError as exc:
        raise UserError(str(exc)) from None
    announce(rt, application=application, day=day, summary=summary, notes=notes, link=link, user=user, at=at)


def announce(
    rt: Runtime,
    *,
    application: str,
    day: dt.date,
    summary: str,
    user: str,
    at: dt.datetime,
    notes: str = "",
    link: str = "",
) -> tuple[Release, list[str]]:
    """Put a release on the calendar, or revise the one already there for that application and date.

    One release per application and day, because the release-day email's subject names only those two:
    announcing again updates the words and keeps the first announcement's time, which is what the notice
    was. A release dated today is emailed at once, since today's 07:00 run may already be over.
    """
    calendar = _calendar(rt)
    today = calendar.local(at).date()
    if day < today:
        raise UserError(f"{format_day(day)} is in the past; a release needs today's date or a later one.")
    releases = _releases(rt)
    existing = next(
        (
            r
            for r in releases.dated(day, day)
            if r.status is ReleaseStatus.SCHEDULED and r.application.casefold() == application.casefold()
        ),
        None,
    )
    if existing is None:
        sequence = rt.store.next_sequence("REL", day.year)
        release = Release(
            id=format_release_id(day.year, sequence),
            application=application,
            date=day,
            summary=summary,
            notes=notes,
            link=link,
            announced_at=at,
            announced_by=user,
            team=rt.team_id,
        )
        try:
            releases.create(release)
        except ReleaseSlotTaken as taken:
            raise UserError(
                f"{taken.release.id} for {taken.release.application} on {format_day(day)} was announced at the same "
                "moment; run the command again to update it."
            ) from None
        change = "scheduled"
    else:
        try:
            release = releases.revise(
                existing.id, summary=summary, notes=notes or existing.notes, link=link or existing.link
            )
        except (ReleaseNotFound, ReleaseNotScheduled):
            raise UserError(f"{existing.id} changed while you were editing it; please try again.") from None
        change = "updated"
    warnings = _warnings(rt, release)
    post(rt.slack, release_scheduled(rt, release, change=change, by=user, warnings=warnings))
    if day == today:
        try:
            _email(rt, release, at)
        except Exception:
            logger.exception("same-day release email could not be queued", release_id=release.id)
            warnings.append("The release email could not be queued; ask an admin to check the stakeholder list.")
    return release, warnings


def cancel(rt: Runtime, release_id: str, user: str, at: dt.datetime) -> str:
    """Only the announcer, the PM, the backup PM or an admin may cancel: it silences the release-day email."""
    releases = _releases(rt)
    release = releases.get(release_id)
    if release is None:
        raise UserError(f"There is no release {release_id}. `/release list` shows the scheduled ones.")
    roster = rt.roster.load()
    allowed = {release.announced_by, roster.pm_user_id, roster.backup_pm_user_id, *rt.settings.admin_user_ids}
    if user not in allowed - {""}:
        raise UserError(f"Only whoever announced {release.id}, the PM, the backup PM or an admin can cancel it.")
    if release.date < _calendar(rt).local(at).date():
        raise UserError(f"{release.id} was dated {format_day(release.date)}; it is past and cannot be cancelled.")
    try:
        cancelled = releases.cancel(release_id)
    except ReleaseNotScheduled:
        return f"{release_id} is already cancelled."
    post(rt.slack, release_scheduled(rt, cancelled, change="cancelled", by=user, warnings=[]))
    if cancelled.emailed_at:
        return f"Cancelled {release_id}. Its release-day email had already gone out; tell the invite list yourself."
    return f"Cancelled {release_id}; no release-day email will go out."


def release_modal(applications: tuple[str, ...]) -> dict[str, Any]:
    """The release form: what `/release` cannot hold on one line, release notes and a link."""
    if applications:
        options = [
            {"text": {"type": "plain_text", "text": a[:MAX_APPLICATION]}, "value": a[:MAX_APPLICATION]}
            for a in applications
        ]
        application: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    else:
        application = text_input(max_length=MAX_APPLICATION)

    def block(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
        return input_block(block_id, label, element, optional=optional)

    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Announce a release"},
        "submit": {"type": "plain_text", "text": "Announce"},
        "blocks": [
            block("application", "Application", application),
            block("date", "Release date", {"type": "datepicker", "action_id": "value"}),
            block(
                "summary",
                "Summary",
                text_input(max_length=MAX_SUMMARY),
            ),
            block(
                "notes",
                "Release notes",
                text_input(multiline=True, max_length=MAX_NOTES),
                optional=True,
            ),
            block(
                "link", "Link (release notes, ticket)", {"type": "url_text_input", "action_id": "value"}, optional=True
            ),
        ],
    }


# --- what the bot says -----------------------------------------------------------------------------------


def _warnings(rt: Runtime, release: Release) -> list[str]:
    calendar = _calendar(rt)
    minimum = rt.settings.release_notice_days
    warnings = []
    if release.is_short_notice(calendar, minimum):
        warnings.append(
            f"Short notice: announced {_notice(release.days_of_notice(calendar))}; "
            f"the playbook asks for at least {minimum} days' warning at the weekly sync."
        )
    not_business = day_warning(calendar, release.date)
    if not_business:
        warnings.append(f"{not_business}: make sure support is covered.")
    return warnings


def _notice(days: int) -> str:
    if days == 0:
        return "on the release day"
    return f"{days} day{'' if days == 1 else 's'} before"


def _payload(rt: Runtime, release: Release) -> dict[str, Any]:
    return {
        "release_id": release.id,
        "application": release.application,
        "date": release.date.isoformat(),
        "short_notice": release.is_short_notice(_calendar(rt), rt.settings.release_notice_days),
    }


def release_scheduled(rt: Runtime, release: Release, *, change: str, by: str, warnings: list[str]) -> SlackMessage:
    """A release added, updated or cancelled, in the channel, with `release_scheduled` metadata (docs/design.md)."""
    emoji = ":no_entry_sign:" if change == "cancelled" else ":rocket:"
    lines = [
        f"{emoji} *{release.id}* · *{esc(release.application)}* release on *{format_day(release.date)}* "
        f"{change} by <@{by}>",
        esc(release.summary),
    ]
    if release.notes and change != "cancelled":
        lines.append(f"*Notes:* {esc(release.notes)}")
    if release.link and change != "cancelled":
        lines.append(f"*Link:* <{esc(release.link)}>")
    if change == "cancelled":
        lines.append("No release-day email will go out." if not release.emailed_at else "The email already went out.")
    lines.extend(f":warning: {esc(w)}" for w in warnings)
    return SlackMessage(
        channel=rt.settings.channel_id,
        text="\n".join(lines),
        event_type="release_scheduled",
        payload={**_payload(rt, release), "status": release.status.value},
    )


def confirmation(rt: Runtime, release: Release, warnings: list[str]) -> str:
    where = f"<#{rt.settings.channel_id}>"
    text = f"{release.id}: {esc(release.application)} on {format_day(release.date)}, posted in {where}."
    return "\n".join([text, *(f":warning: {esc(w)}" for w in warnings)])


def _line(rt: Runtime, release: Release) -> str:
    calendar = _calendar(rt)
    line = f"• *{format_day(release.date)}* · *{esc(release.application)}* · {release.id} — {esc(release.summary)}"
    if release.is_short_notice(calendar, rt.settings.release_notice_days):
        line += f" :warning: short notice (announced {_notice(release.days_of_notice(calendar))})"
    if not calendar.is_business_day(release.date):
        line += " :warning: not a business day"
    return line


def list_text(rt: Runtime, now: dt.datetime) -> str:
    scheduled = [r for r in _releases(rt).dated(_calendar(rt).local(now).date()) if r.status is ReleaseStatus.SCHEDULED]
    if not scheduled:
        return "No releases are scheduled. `/release <application> <YYYY-MM-DD> <summary>` adds one."
    return "\n".join(["*Scheduled releases*", *(_line(rt, r) for r in scheduled)])


# --- the scheduled jobs ----------------------------------------------------------------------------------


def weekly_digest(rt: Runtime, now: dt.datetime) -> None:
    """The weekly-sync digest: scheduled releases from today through the next N weeks, short notice flagged.

    Posted once per day even if the scheduler delivers the run twice.
    """
    calendar = _calendar(rt)
    today = calendar.local(now).date()
    weeks = rt.settings.release_digest_weeks
    last = today + dt.timedelta(weeks=weeks, days=-1)
    day = today.isoformat() if rt.team is None else f"{today.isoformat()}#{rt.team_id}"
    with rt.dedupe.once("release-digest", day, now) as first:
        if not first:
            logger.info("release digest already posted today", day=today.isoformat())
            return
        upcoming = [r for r in _releases(rt).dated(today, last) if r.status is ReleaseStatus.SCHEDULED]
        header = f":calendar: *Releases in the next {weeks} weeks* (weekly sync, {format_day(today)})"
        body = [_line(rt, r) for r in upcoming] or ["No releases are scheduled. Announce one with `/release`."]
        post(
            rt.slack,
            SlackMessage(
                channel=rt.settings.channel_id,
                text="\n".join([header, *body]),
                event_type="release_digest",
                payload={"releases": [_payload(rt, r) for r in upcoming]},
            ),
        )


def release_day(rt: Runtime, now: dt.datetime) -> None:
    """Email the invite list about each release dated today; one failing release never stops the others."""
    today = _calendar(rt).local(now).date()
    failed = []
    for release in _releases(rt).dated(today, today):
        if release.status is not ReleaseStatus.SCHEDULED or release.emailed_at:
            continue
        try:
            _email(rt, release, now)
        except Exception:
            logger.exception("release-day email failed", release_id=release.id)
            failed.append(release.id)
    if failed:
        raise RuntimeError(f"release-day email failed for {', '.join(failed)}; the scheduler's retry will resend")


def request_id(release: Release) -> str:
    """Fixed per release, so the email queue and sender see every attempt for it as the same request."""
    return f"release-{release.id}"


def _email(rt: Runtime, release: Release, at: dt.datetime) -> None:
    releases = _releases(rt)
    current = releases.get(release.id)
    if current is None or current.status is not ReleaseStatus.SCHEDULED or current.emailed_at:
        return
    stakeholders = rt.roster.load().stakeholders
    if not stakeholders:
        post(
            rt.slack,
            SlackMessage(
                channel=rt.settings.channel_id,
                text=(
                    f":warning: {current.id} ({esc(current.application)}) is today, but the stakeholder list is "
                    "empty, so no release email went out. An admin can add the weekly-sync invite list with "
                    "`/prodsupport stakeholders add <emails>`."
                ),
            ),
        )
        return
    email_requests.enqueue_channel_email(
        rt,
        release_email(current),
        request_id=request_id(current),
        kind="release",
        ref=current.id,
        to=stakeholders,
        requested_at=at,
        requested_by=current.announced_by,
    )
    releases.mark_emailed(current.id, at)
