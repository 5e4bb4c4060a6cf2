"""The post-mortem through the stack: real handlers, moto, the recording Slack API, a virtual clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from icalendar import Calendar

from prodsupport import runtime
from prodsupport.incident.model import Sla
from prodsupport_local.cli import main as cli
from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack
from prodsupport_local.fakes.recording_slack import RecordingSlackApi, SlackCall

CHANNEL = DEFAULT_SETTINGS["channel_id"]
DECLARED = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # Wed 1:00 PM EST, the eve of Thanksgiving
RESOLVED = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
SCHEDULING_DUE = "2026-11-30T20:00:00Z"  # Mon 3:00 PM EST: Thanksgiving and the weekend skipped
SHARING_DUE = "2026-12-10T20:00:00Z"
SCHEDULE_AT = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
INC = "INC-2026-0001"
DOC = "https://github.com/department-of-veterans-affairs/va.gov-team-sensitive/blob/master/Postmortems/pm.md"

Signer = Callable[..., Any]


@pytest.fixture
def send(stack: LocalStack, send_slack_form: Callable[..., Callable[..., HttpResponse]]) -> Callable[..., HttpResponse]:
    """POST a slash command or an interaction at a virtual time, signed as Slack signs it."""
    return send_slack_form(stack, "U0ONCALL")


def reply(response: HttpResponse) -> str:
    assert response.status == 200
    return str(json.loads(response.body)["text"]) if response.body else ""


def updates(slack: RecordingSlackApi) -> list[SlackCall]:
    return [
        call for call in slack.posts() if (call.args.get("metadata") or {}).get("event_type") == "postmortem_update"
    ]


def payload(call: SlackCall) -> dict[str, Any]:
    """What the message says; its effect id is delivery bookkeeping."""
    return {k: v for k, v in call.args["metadata"]["event_payload"].items() if k != "effect_id"}


def declare_and_resolve(send: Callable[..., HttpResponse], severity: str = "critical") -> None:
    reply(send(DECLARED, text=f"{severity} Pre-check-in fails at every clinic"))
    reply(send(RESOLVED, text=f"{INC} resolve Rolled back the release"))


def button(action_id: str, user: str = "U0PM") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "t-button",
        "channel": {"id": CHANNEL},
        "actions": [{"action_id": action_id, "block_id": "postmortem_actions", "value": INC}],
    }


def stored_invitation(sequence: int = 0) -> dict[str, Any]:
    item = runtime.current().table.get(f"EMAIL#{INC}-postmortem-invite-{sequence}", "REQUEST")
    assert item is not None
    return item


# --- drafted on resolve ---------------------------------------------------------------------------------


def test_given_a_critical_incident_when_resolved_then_the_draft_is_uploaded_as_a_file_in_the_thread(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)

    [upload] = slack.calls_to("files.completeUploadExternal")
    thread_ts = slack.posts()[0].response["ts"]
    assert (upload.args["channel_id"], upload.args["thread_ts"]) == (CHANNEL, thread_ts)
    assert upload.args["content"].startswith(f"# Postmortem for {INC}: Pre-check-in fails at every clinic")
    assert (
        f"- Slack thread: <https://example.slack.com/archives/{CHANNEL}/p{thread_ts.replace('.', '')}>"
        in (upload.args["content"])
    )


def test_given_slack_gives_no_permalink_when_resolved_then_the_draft_still_names_the_thread(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    slack.fail_next("chat.getPermalink", error="channel_not_found")

    declare_and_resolve(send)

    [upload] = slack.calls_to("files.completeUploadExternal")
    thread_ts = slack.posts()[0].response["ts"]
    assert f"- Slack thread: Slack channel {CHANNEL}, thread {thread_ts}" in upload.args["content"]
    assert [payload(call)["state"] for call in updates(slack)] == ["drafted"]


def test_given_a_critical_incident_when_resolved_then_drafted_is_posted_with_the_scheduling_due(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)

    [drafted] = updates(slack)
    assert payload(drafted) == {"incident_id": INC, "state": "drafted", "due": SCHEDULING_DUE}
    actions = [element["action_id"] for element in drafted.args["blocks"][1]["elements"]]
    assert actions == ["incident_postmortem_schedule", "incident_postmortem_held", "incident_postmortem_share"]


def test_given_the_draft_upload_failed_when_resolved_again_then_the_draft_is_posted_once(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    reply(send(DECLARED, text="critical Pre-check-in fails at every clinic"))
    slack.fail_next("files.completeUploadExternal", status=500, times=3)  # every attempt slack_sdk makes
    assert send(RESOLVED, text=f"{INC} resolve Rolled back the release").status == 500

    again = reply(send(RESOLVED + timedelta(minutes=1), text=f"{INC} resolve Rolled back the release"))

    assert "already resolved" not in again
    assert len([call for call in slack.calls_to("files.completeUploadExternal") if call.ok]) == 1
    assert [payload(call)["state"] for call in updates(slack)] == ["drafted"]
    assert len([c for c in slack.posts() if c.args["metadata"]["event_type"] == "incident_resolved"]) == 1


def test_given_a_draft_being_posted_when_resolved_again_at_once_then_the_draft_is_left_to_its_poster(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    reply(send(DECLARED, text="critical Pre-check-in fails at every clinic"))
    slack.fail_next("files.completeUploadExternal", status=500, times=3)
    send(RESOLVED, text=f"{INC} resolve Rolled back the release")  # its lease still holds 5 s later

    reply(send(RESOLVED + timedelta(seconds=5), text=f"{INC} resolve Rolled back the release"))

    assert len(slack.calls_to("files.completeUploadExternal")) == 3
    assert updates(slack) == []


def test_given_a_posted_draft_when_resolved_again_then_it_is_already_resolved_and_nothing_is_posted_twice(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)

    again = reply(send(RESOLVED + timedelta(minutes=1), text=f"{INC} resolve Rolled back the release"))

    assert "already resolved" in again
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    assert len(updates(slack)) == 1


def test_given_a_major_incident_when_resolved_then_no_post_mortem_starts(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send, severity="major")

    assert updates(slack) == []
    assert slack.calls_to("files.completeUploadExternal") == []


def test_given_an_open_major_incident_an_admin_marked_when_resolved_then_a_draft_is_posted(
    stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    stack.configure({"admin_user_ids": ["U0ADMIN"]})
    reply(send(DECLARED, text="major Slow kiosks"))
    reply(send(DECLARED + timedelta(minutes=5), text=f"{INC} postmortem needed", user="U0ADMIN"))

    reply(send(RESOLVED, text=f"{INC} resolve Restarted"))

    assert [payload(call)["state"] for call in updates(slack)] == ["drafted"]


def test_given_a_resolved_minor_incident_when_an_admin_asks_for_a_post_mortem_then_it_starts_from_that_moment(
    stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    stack.configure({"admin_user_ids": ["U0ADMIN"]})
    declare_and_resolve(send, severity="minor")
    asked = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 10:00 AM EST

    text = reply(send(asked, text=f"{INC} postmortem needed", user="U0ADMIN"))

    assert "started" in text
    assert payload(updates(slack)[0])["due"] == "2026-12-03T15:00:00Z"


def test_given_someone_not_an_admin_when_asking_for_a_post_mortem_then_it_is_refused_and_nothing_changes(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send, severity="major")

    text = reply(send(RESOLVED + timedelta(hours=1), text=f"{INC} postmortem needed", user="U0ENG"))

    assert "Only prodsupport admins" in text
    assert updates(slack) == []


# --- scheduled ------------------------------------------------------------------------------------------


def test_given_a_draft_when_scheduled_without_the_service_role_then_the_missing_role_is_reported(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)

    text = reply(
        send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 t3@va.gov:tier3 lead@va.gov:client")
    )

    assert "a representative of the service that had the issue" in text
    scheduled = payload(updates(slack)[-1])
    assert scheduled == {
        "incident_id": INC,
        "state": "scheduled",
        "due": SHARING_DUE,
        "scheduled_for": "2026-12-01T19:00:00Z",
        "missing_roles": ["service"],
    }


def test_given_slack_users_as_attendees_when_scheduled_then_their_profile_emails_get_an_icalendar_request(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    slack.set_user("U0T3", email="tier3@va.gov")
    slack.set_user("U0SVC", email="vets-api@va.gov")
    declare_and_resolve(send)

    reply(
        send(
            SCHEDULE_AT,
            text=f"{INC} postmortem scheduled 2026-12-01 14:00 <@U0T3|tina>:tier3 <@U0SVC>:service lead@va.gov:client",
        )
    )

    item = stored_invitation()
    [attachment] = item["attachments"]
    assert attachment["content_type"] == "text/calendar; method=REQUEST"
    event = next(iter(Calendar.from_ical(attachment["content"]).walk("VEVENT")))
    assert sorted(str(address) for address in event.get("ATTENDEE")) == [
        "mailto:lead@va.gov",
        "mailto:tier3@va.gov",
        "mailto:vets-api@va.gov",
    ]
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert (item["kind"], item["to"]) == ("postmortem_invite", ["tier3@va.gov", "vets-api@va.gov", "lead@va.gov"])


def test_given_a_scheduled_session_when_the_queue_is_drained_then_ses_sends_a_mime_invitation_with_the_ics(
    stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    reply(send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 lead@va.gov:client"))

    stack.drain()

    [sent] = stack.sent_emails()
    assert sent.raw is not None
    message = BytesParser(policy=policy.default).parsebytes(sent.raw.encode())
    [invite] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert invite.get_param("method") == "REQUEST"
    assert str(Calendar.from_ical(invite.get_content())["METHOD"]) == "REQUEST"
    assert message["To"] == "lead@va.gov"
    assert message["Subject"] == "Post-mortem session: Check-In Experience Production Outage 11-25-2026"
    assert slack.posts()[-1].args["metadata"]["event_type"] == "postmortem_invitation_sent"


def test_given_a_slack_user_without_an_email_when_scheduled_then_the_thread_says_who_was_not_invited(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)

    reply(send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 <@U0NOMAIL>:tier3 lead@va.gov:client"))

    assert "No email address for <@U0NOMAIL>" in updates(slack)[-1].args["text"]
    assert stored_invitation()["to"] == ["lead@va.gov"]


def test_given_a_scheduled_session_when_rescheduled_then_a_second_invitation_updates_the_same_event(
    send: Callable[..., HttpResponse],
) -> None:
    declare_and_resolve(send)
    reply(send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 lead@va.gov:client"))

    reply(send(SCHEDULE_AT + timedelta(hours=1), text=f"{INC} postmortem scheduled 2026-12-02 10:00 lead@va.gov"))

    first, second = (Calendar.from_ical(stored_invitation(n)["attachments"][0]["content"]) for n in (0, 1))
    uids = {str(next(iter(cal.walk("VEVENT")))["UID"]) for cal in (first, second)}
    assert len(uids) == 1
    assert int(next(iter(second.walk("VEVENT")))["SEQUENCE"]) == 1


def test_given_an_unknown_role_when_scheduling_then_the_reply_says_what_was_expected_and_nothing_changes(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)

    text = reply(send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 lead@va.gov:boss"))

    assert "tier3, service or client" in text
    assert [payload(call)["state"] for call in updates(slack)] == ["drafted"]


def test_given_the_schedule_form_when_submitted_then_the_session_is_scheduled(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    reply(send(SCHEDULE_AT, payload=button("incident_postmortem_schedule")))
    [opened] = slack.calls_to("views.open")
    view = opened.args["view"]
    values = {"when": "2026-12-01 14:00", "attendees": "t3@va.gov:tier3 svc@va.gov:service lead@va.gov:client"}
    view["state"] = {
        "values": {block: {"value": {"type": "plain_text_input", "value": v}} for block, v in values.items()}
    }

    reply(send(SCHEDULE_AT, payload={"type": "view_submission", "user": {"id": "U0PM"}, "view": view}))

    assert payload(updates(slack)[-1])["missing_roles"] == []


def test_given_the_schedule_form_when_its_date_is_not_a_date_then_the_form_says_so_and_nothing_changes(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    reply(send(SCHEDULE_AT, payload=button("incident_postmortem_schedule")))
    [opened] = slack.calls_to("views.open")
    view = opened.args["view"]
    values = {"when": "2026-13-01 14:00", "attendees": "t3@va.gov:tier3 svc@va.gov:service lead@va.gov:client"}
    view["state"] = {
        "values": {block: {"value": {"type": "plain_text_input", "value": v}} for block, v in values.items()}
    }

    response = send(SCHEDULE_AT, payload={"type": "view_submission", "user": {"id": "U0PM"}, "view": view})

    assert response.status == 200
    errors = json.loads(response.body)["errors"]
    assert "is not `YYYY-MM-DD HH:MM`" in errors["when"]
    assert [payload(call)["state"] for call in updates(slack)] == ["drafted"]


# --- held and shared ------------------------------------------------------------------------------------


def test_given_a_draft_when_the_held_button_is_pressed_then_the_refusal_is_ephemeral(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)

    reply(send(SCHEDULE_AT, payload=button("incident_postmortem_held")))

    [refusal] = slack.calls_to("chat.postEphemeral")
    assert "never scheduled" in refusal.args["text"]
    assert [payload(call)["state"] for call in updates(slack)] == ["drafted"]


def test_given_a_scheduled_session_when_the_held_button_is_pressed_then_held_is_posted_with_the_sharing_due(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    reply(send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 lead@va.gov:client"))

    reply(send(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), payload=button("incident_postmortem_held")))

    assert payload(updates(slack)[-1]) == {"incident_id": INC, "state": "held", "due": SHARING_DUE}


def test_given_a_held_session_when_shared_then_the_link_is_posted_to_the_channel_too(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    reply(send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 lead@va.gov:client"))
    reply(send(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), text=f"{INC} postmortem held", user="U0PM"))

    reply(send(datetime(2026, 12, 3, 15, 0, tzinfo=UTC), text=f"{INC} postmortem shared <{DOC}>", user="U0PM"))

    shared = updates(slack)[-1]
    assert shared.args["reply_broadcast"] in (True, "true", "1")
    assert payload(shared) == {"incident_id": INC, "state": "shared", "url": DOC}
    assert f"<{DOC}>" in shared.args["text"]


def test_given_a_shared_post_mortem_then_both_clocks_are_met_and_none_is_pending(
    send: Callable[..., HttpResponse],
) -> None:
    declare_and_resolve(send)
    reply(send(SCHEDULE_AT, text=f"{INC} postmortem scheduled 2026-12-01 14:00 lead@va.gov:client"))
    reply(send(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), text=f"{INC} postmortem held"))
    shared_at = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)

    reply(send(shared_at, text=f"{INC} postmortem shared {DOC}"))

    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None
    met = {sla: incident.deadlines[sla].met_at for sla in (Sla.POSTMORTEM_SCHEDULED, Sla.POSTMORTEM_SHARED)}
    assert met == {Sla.POSTMORTEM_SCHEDULED: SCHEDULE_AT, Sla.POSTMORTEM_SHARED: shared_at}


# --- the local draft ------------------------------------------------------------------------------------


def test_given_a_resolved_incident_when_the_draft_is_asked_for_locally_then_it_is_printed_from_the_table(
    stack: LocalStack, send: Callable[..., HttpResponse], capsys: pytest.CaptureFixture[str]
) -> None:
    declare_and_resolve(send)
    capsys.readouterr()  # the handlers' metrics (EMF lines on stdout) are not the draft

    status = cli.main(["postmortem", "draft", INC.lower(), "--thread-link", "https://example.slack.com/x"])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith(f"# Postmortem for {INC}: Pre-check-in fails at every clinic\n")
    assert "- Slack thread: <https://example.slack.com/x>" in out


def test_given_an_unknown_incident_when_the_draft_is_asked_for_locally_then_it_exits_1_saying_so(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["postmortem", "draft", "INC-2026-0999"])

    assert status == 1
    assert "there is no incident INC-2026-0999" in capsys.readouterr().err
