"""The stakeholder email through the stack: Slack → table + SQS → email sender → SES (moto) → the thread.

Mail is read back from moto's SES and parsed as MIME with the standard library, as a recipient's mail
client would parse it.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from slack_sdk import WebClient

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.email.sender import CLAIM_EXPIRY
from prodsupport.incident.model import Incident, Sla
from prodsupport.incident.painting import PAINT_WINDOW
from prodsupport.incident.store import IncidentStore
from prodsupport.roster import out_of_office
from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.aws import LocalSecrets
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi, SlackCall

CHANNEL = DEFAULT_SETTINGS["channel_id"]
SENDER = DEFAULT_SETTINGS["email_sender"]
STAKEHOLDERS = ["alex@example.gov", "sam@example.gov"]
SETTINGS = {
    "pm_user_id": "U0PM",
    "backup_pm_user_id": "U0BACKUP",
    "admin_user_ids": ["U0ADMIN"],
    "stakeholders": STAKEHOLDERS,
}
DECLARED = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # Sun 11/22/2026 9:30 PM EST
EMAILED = DECLARED + timedelta(minutes=40)
INC = "INC-2026-0001"
INVITE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Calendar//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
    "UID:weekly-sync\r\nDTSTAMP:20261101T120000Z\r\nSUMMARY:TCP to VA.gov Migration Weekly Sync\r\n"
    "ORGANIZER;CN=Pat:mailto:pat.pm@va.gov\r\nATTENDEE;CN=Alex:mailto:ALEX@example.gov\r\n"
    "ATTENDEE;CN=Kim:mailto:kim@example.gov\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

Signer = Callable[..., Any]
Send = Callable[..., HttpResponse]


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    return stack


@pytest.fixture
def send(configured: LocalStack, send_slack_form: Callable[..., Send]) -> Send:
    """POST a slash command or an interaction at a virtual time, signed as Slack signs it."""
    return send_slack_form(configured, "U0PM")


def reply(response: HttpResponse) -> str:
    assert response.status == 200
    return str(json.loads(response.body)["text"]) if response.body else ""


def declare(send: Send) -> None:
    reply(send(DECLARED, text="critical Kiosks cannot check Veterans in", user="U0ONCALL"))


def email_now(send: Send, stack: LocalStack, *, at: datetime = EMAILED, user: str = "U0PM") -> str:
    answer = reply(send(at, text=f"{INC} email", user=user))
    stack.drain()
    return answer


def mime(stack: LocalStack) -> list[EmailMessage]:
    """Every email SES accepted, parsed from its raw bytes with the standard library."""
    parsed = []
    for sent in stack.sent_emails():
        assert sent.raw is not None
        message = email.message_from_string(sent.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        parsed.append(message)
    return parsed


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def posts_of(slack: RecordingSlackApi, event_type: str) -> list[SlackCall]:
    return [call for call in slack.posts() if (call.args.get("metadata") or {}).get("event_type") == event_type]


def stored_incident() -> Incident:
    incident = runtime.current().store.get_by_id(INC)
    assert incident is not None
    return incident


def email_items() -> list[dict[str, Any]]:
    table = runtime.current().table
    return [item for n in range(1, 4) if (item := table.get(f"EMAIL#{INC}-{n}", "REQUEST"))]


def card_button(user: str = "U0PM") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "t-email",
        "channel": {"id": CHANNEL},
        "actions": [{"action_id": "incident_email", "block_id": "incident_actions", "value": INC}],
    }


def submission(values: dict[str, str], user: str = "U0PM") -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "callback_id": "incident_email",
            "private_metadata": INC,
            "blocks": [{"block_id": "summary"}],
            "state": {"values": {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}},
        },
    }


# --- sending ----------------------------------------------------------------------------------------------


def test_given_the_pm_when_they_send_then_the_stakeholders_get_the_playbook_template_as_mime(
    send: Send, configured: LocalStack
) -> None:
    declare(send)

    email_now(send, configured)

    [message] = mime(configured)
    assert message["From"] == SENDER
    assert message["To"] == "alex@example.gov, sam@example.gov"
    assert message["Subject"] == "Check-In Experience Production Outage 11-22-2026"
    assert message.get_content_type() == "multipart/alternative"
    assert body(message, "plain").startswith("Incident Summary: Kiosks cannot check Veterans in\n\nIncident Details:")
    assert '<th scope="row" align="left" valign="top">Incident End Date/Time</th><td>Ongoing</td>' in body(
        message, "html"
    )
    assert configured.sent_emails()[0].to == tuple(STAKEHOLDERS)


def test_given_the_pm_when_they_send_then_the_thread_shows_stakeholder_email_sent(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    declare(send)

    answer = email_now(send, configured)

    [sent] = posts_of(slack, "stakeholder_email_sent")
    assert sent.args["thread_ts"] == stored_incident().thread_ts
    assert sent.args["metadata"]["event_payload"] == {
        "incident_id": INC,
        "message_id": configured.sent_emails()[0].message_id,
        "recipients": 2,
        "subject": "Check-In Experience Production Outage 11-22-2026",
        "effect_id": f"{INC}-1/email_sent",
    }
    assert answer.startswith(f"Stakeholder email for {INC} queued to 2 recipient(s)")


def test_given_a_critical_incident_when_first_sent_then_the_24_hour_clock_is_met_and_the_send_recorded(
    send: Send, configured: LocalStack
) -> None:
    declare(send)

    email_now(send, configured)

    incident = stored_incident()
    assert incident.deadlines[Sla.STAKEHOLDER_EMAIL].met_at == EMAILED
    [record] = incident.emails
    assert (record.request_id, record.state, record.sent_at) == (f"{INC}-1", "sent", EMAILED)
    assert record.message_id == configured.sent_emails()[0].message_id


def test_given_the_email_sent_when_its_24_hours_pass_then_the_checker_neither_reminds_nor_breaches_it(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    declare(send)
    email_now(send, configured)

    configured.tick(DECLARED + timedelta(hours=20))
    configured.tick(DECLARED + timedelta(hours=24, minutes=1))

    notices = posts_of(slack, "sla_reminder") + posts_of(slack, "sla_breached")
    assert [c for c in notices if c.args["metadata"]["event_payload"]["sla"] == "stakeholder_email"] == []


def test_given_an_update_after_resolve_then_the_second_email_has_end_time_and_resolution(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    declare(send)
    email_now(send, configured)
    reply(send(EMAILED + timedelta(hours=2), text=f"{INC} resolve Rolled back the 2.14 release", user="U0ONCALL"))

    email_now(send, configured, at=EMAILED + timedelta(hours=3))

    first, second = mime(configured)
    assert "Incident End Date/Time:    Ongoing" in body(first, "plain")
    assert "Incident End Date/Time:    Mon 11/23/2026 12:10 AM EST" in body(second, "plain")
    assert "Resolution:                Rolled back the 2.14 release" in body(second, "plain")
    assert len(posts_of(slack, "stakeholder_email_sent")) == 2
    assert stored_incident().deadlines[Sla.STAKEHOLDER_EMAIL].met_at == EMAILED


def test_given_the_backup_or_an_admin_when_they_send_then_it_goes_out(send: Send, configured: LocalStack) -> None:
    declare(send)

    email_now(send, configured, user="U0BACKUP")
    email_now(send, configured, at=EMAILED + timedelta(minutes=5), user="U0ADMIN")

    assert len(configured.sent_emails()) == 2


def test_given_someone_else_when_they_ask_then_they_are_refused_and_nothing_is_queued(
    send: Send, configured: LocalStack
) -> None:
    declare(send)

    answer = email_now(send, configured, user="U0ONCALL")

    assert answer.startswith("Only the PM, the backup PM or a prodsupport admin can send the stakeholder email.")
    assert "<@U0PM> owns it right now." in answer
    assert (configured.sent_emails(), email_items(), stored_incident().emails) == ([], [], [])


def test_given_an_empty_stakeholder_list_when_the_pm_asks_then_refused_and_nothing_is_queued(
    send: Send, configured: LocalStack
) -> None:
    configured.configure({**SETTINGS, "stakeholders": []})
    declare(send)

    answer = email_now(send, configured)

    assert answer.startswith("The stakeholder list is empty, so there is no one to email.")
    assert configured.queue_depth("EmailQueue") == 0
    assert (configured.sent_emails(), email_items(), stored_incident().emails) == ([], [], [])


# --- exactly once, and failures ---------------------------------------------------------------------------


def test_given_a_sent_request_when_its_queue_message_is_redelivered_then_nothing_more_is_sent(
    send: Send, configured: LocalStack, slack: RecordingSlackApi, clock: VirtualClock
) -> None:
    declare(send)
    email_now(send, configured)

    # WHEN its message comes again at once (the sender may still be at work), and once its claim has expired
    configured.aws.client("sqs").send_message(
        QueueUrl=configured.aws.queue_url("EmailQueue"), MessageBody=json.dumps({"request_id": f"{INC}-1"})
    )
    configured.drain()
    waited = configured.queue_depth("EmailQueue")
    clock.set(EMAILED + CLAIM_EXPIRY + timedelta(seconds=1))
    configured.drain()

    # THEN it waited for the claim, then found the email sent by the incident's record: nothing more went out
    assert waited == 1
    assert len(configured.sent_emails()) == 1
    assert len(posts_of(slack, "stakeholder_email_sent")) == 1
    assert configured.queue_depth("EmailQueue") == 0
    assert [item["state"] for item in email_items()] == ["sent"]  # finished from the incident's record


def test_given_slack_fails_the_sent_line_then_the_outbox_posts_it_once_and_the_email_is_not_resent(
    send: Send, configured: LocalStack, slack: RecordingSlackApi, clock: VirtualClock
) -> None:
    declare(send)
    reply(send(EMAILED, text=f"{INC} email"))
    slack.fail_next("chat.postMessage", status=500, times=3)

    configured.drain()
    assert configured.queue_depth("EmailQueue") == 0  # the email's delivery is done, Slack or not
    clock.set(EMAILED + PAINT_WINDOW)  # and the card's repaint, owed since the command's paint lease, is due
    configured.drain()

    assert len(configured.sent_emails()) == 1
    assert len(posts_of(slack, "stakeholder_email_sent")) == 1
    assert [entry.kind for entry in stored_incident().timeline].count("email_sent") == 1
    assert (configured.queue_depth("EmailQueue"), configured.queue_depth("SlackOutboxQueue")) == (0, 0)


def test_given_a_sender_died_between_finishing_and_its_line_when_redelivered_then_the_line_is_posted_unsent(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    declare(send)
    reply(send(EMAILED, text=f"{INC} email"))
    runtime.current().table.update(
        f"EMAIL#{INC}-1",
        "REQUEST",
        "SET #s = :sent, batches.#one = :batch, message_ids = :ids, finished_at = :at, recipients_sent = :two",
        names={"#s": "state", "#one": "1"},
        vals={
            ":sent": "sent",
            ":batch": {"state": "sent", "message_id": "ses-1"},
            ":ids": ["ses-1"],
            ":at": to_iso(EMAILED),
            ":two": 2,
        },
    )

    configured.drain()

    assert configured.sent_emails() == []
    assert [
        post.args["metadata"]["event_payload"]["message_id"] for post in posts_of(slack, "stakeholder_email_sent")
    ] == ["ses-1"]
    assert stored_incident().emails[0].state == "sent"


def test_given_the_sender_died_after_the_incident_recorded_the_email_then_its_redelivery_resends_nothing(
    send: Send, configured: LocalStack, slack: RecordingSlackApi, clock: VirtualClock
) -> None:
    # GIVEN an email sent, and recorded on the incident, whose sender then failed before its thread line
    declare(send)
    reply(send(EMAILED, text=f"{INC} email"))
    slack.fail_next("chat.postMessage", error="channel_not_found")
    configured.drain()
    assert (len(configured.sent_emails()), configured.queue_depth("EmailQueue")) == (1, 1)

    # WHEN the queue delivers it again once the sender's claim has expired
    clock.set(EMAILED + CLAIM_EXPIRY + timedelta(seconds=1))
    configured.drain()

    # THEN the incident's record says it went out: nothing is resent, the request is finished, the line posted once
    assert len(configured.sent_emails()) == 1
    assert len(posts_of(slack, "stakeholder_email_sent")) == 1
    assert [item["state"] for item in email_items()] == ["sent"]
    assert configured.queue_depth("EmailQueue") == 0


def test_given_a_sent_request_redelivered_then_its_thread_line_is_looked_for_before_any_post(
    send: Send, configured: LocalStack, slack: RecordingSlackApi, clock: VirtualClock
) -> None:
    declare(send)
    email_now(send, configured)
    posted = len(slack.calls_to("chat.postMessage"))

    configured.aws.client("sqs").send_message(
        QueueUrl=configured.aws.queue_url("EmailQueue"), MessageBody=json.dumps({"request_id": f"{INC}-1"})
    )
    clock.set(EMAILED + CLAIM_EXPIRY + timedelta(seconds=1))  # the first sender's claim is over
    configured.drain()

    assert slack.calls_to("conversations.replies")
    assert len(slack.calls_to("chat.postMessage")) == posted


def test_given_the_same_message_twice_in_one_batch_then_one_email_is_sent(send: Send, configured: LocalStack) -> None:
    declare(send)
    reply(send(EMAILED, text=f"{INC} email"))
    configured.aws.client("sqs").send_message(
        QueueUrl=configured.aws.queue_url("EmailQueue"), MessageBody=json.dumps({"request_id": f"{INC}-1"})
    )

    configured.drain()

    assert len(configured.sent_emails()) == 1


def test_given_ses_rejects_the_message_then_it_is_recorded_told_in_the_thread_and_not_retried(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    configured.aws.client("sesv2").delete_email_identity(EmailIdentity=SENDER)
    declare(send)

    email_now(send, configured)

    [failed] = posts_of(slack, "stakeholder_email_failed")
    assert failed.args["metadata"]["event_payload"]["request_id"] == f"{INC}-1"
    assert failed.args["metadata"]["event_payload"]["error"].startswith("MessageRejected:")
    [record] = stored_incident().emails
    assert (record.state, record.error[:16]) == ("rejected", "MessageRejected:")
    assert stored_incident().deadlines[Sla.STAKEHOLDER_EMAIL].pending
    assert configured.queue_depth("EmailQueue") == 0
    assert configured.sent_emails() == []


def test_given_ses_is_unreachable_then_the_claim_is_released_and_the_next_delivery_sends_once(
    send: Send, configured: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(send)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    runtime.reset()

    email_now(send, configured)

    assert configured.sent_emails() == []
    assert [item["state"] for item in email_items()] == ["queued"]
    assert configured.queue_depth("EmailQueue") == 1
    monkeypatch.delenv("AWS_ENDPOINT_URL_SESV2")
    runtime.reset()
    configured.drain()
    assert len(configured.sent_emails()) == 1
    assert stored_incident().emails[0].state == "sent"  # an incident email sent in full is finished by its record


def test_given_ses_stays_unreachable_then_after_five_receives_the_request_sits_in_the_dead_letter_queue(
    send: Send, configured: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(send)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    runtime.reset()

    email_now(send, configured)
    for _ in range(5):
        configured.drain()

    assert configured.queue_depth("EmailQueue") == 0
    assert configured.queue_depth("EmailDeadLetterQueue") == 1
    assert [item["state"] for item in email_items()] == ["queued"]
    assert configured.sent_emails() == []


def test_given_a_request_id_that_does_not_exist_then_the_message_is_dropped_without_failing(
    configured: LocalStack, load_event: Callable[[str], dict[str, Any]]
) -> None:
    result = configured.invoke("EmailSenderFunction", load_event("email_sender_sqs.json"))

    assert result == {"batchItemFailures": []}
    assert configured.sent_emails() == []


def test_given_a_malformed_queue_message_then_it_is_dropped_without_failing(
    configured: LocalStack, load_event: Callable[[str], dict[str, Any]]
) -> None:
    event = load_event("email_sender_sqs.json")
    event["Records"][0]["body"] = "not json"

    assert configured.invoke("EmailSenderFunction", event) == {"batchItemFailures": []}


# --- the card's form --------------------------------------------------------------------------------------


def test_given_the_pm_when_they_press_the_card_button_then_the_form_opens_prefilled(
    send: Send, slack: RecordingSlackApi
) -> None:
    declare(send)
    reply(send(EMAILED, text=f"{INC} impact Veterans queue at the front desk", user="U0ONCALL"))

    reply(send(EMAILED, payload=card_button()))

    [opened] = slack.calls_to("views.open")
    view = opened.args["view"]
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert (view["callback_id"], view["private_metadata"]) == ("incident_email", INC)
    assert initial["summary"] == "Kiosks cannot check Veterans in"
    assert initial["business_impact"] == "Veterans queue at the front desk"
    assert "Check-In Experience Production Outage 11-22-2026" in view["blocks"][0]["elements"][0]["text"]


def test_given_someone_else_when_they_press_the_card_button_then_they_get_an_ephemeral_refusal(
    send: Send, slack: RecordingSlackApi
) -> None:
    declare(send)

    reply(send(EMAILED, payload=card_button(user="U0ONCALL")))

    assert slack.calls_to("views.open") == []
    [refusal] = slack.calls_to("chat.postEphemeral")
    assert refusal.args["user"] == "U0ONCALL"
    assert refusal.args["text"].startswith("Only the PM, the backup PM or a prodsupport admin")


def test_given_the_form_is_edited_when_submitted_then_the_incident_changes_and_the_email_carries_the_edits(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    declare(send)
    values = {
        "summary": "Kiosks at every VA clinic show an error; Veterans check in at the desk.",
        "business_impact": "Longer lines at clinics.",
        "current_status": "Rolling back the 2.14 release.",
        "next": "2h",
        "resolution": "",
    }

    response = send(EMAILED, payload=submission(values))
    configured.drain()

    assert response.status == 200 and not response.body
    incident = stored_incident()
    assert (incident.summary, incident.business_impact) == (values["summary"], values["business_impact"])
    assert incident.deadlines[Sla.STATUS_UPDATE].due == EMAILED + timedelta(hours=2)
    text = body(mime(configured)[0], "plain")
    assert f"Incident Summary: {values['summary']}" in text
    assert "Sun 11/22/2026 10:10 PM EST: Rolling back the 2.14 release.\n" in text
    assert "Next update by Mon 11/23/2026 12:10 AM EST." in text
    assert [c.args["metadata"]["event_payload"]["field"] for c in posts_of(slack, "incident_updated")] == [
        "current_status"
    ]


def test_given_someone_else_submits_the_form_then_the_form_shows_the_refusal_and_nothing_changes(
    send: Send, configured: LocalStack
) -> None:
    declare(send)

    response = send(EMAILED, payload=submission({"summary": "changed"}, user="U0ONCALL"))

    assert response.status == 200
    errors = json.loads(response.body)
    assert errors["response_action"] == "errors"
    assert errors["errors"]["summary"].startswith("Only the PM")
    assert (stored_incident().summary, stored_incident().emails, email_items()) == ("", [], [])


# --- owner: the PM, or the backup while out --------------------------------------------------------------


def test_given_the_pm_has_a_palm_tree_status_then_the_backup_owns_the_email(
    configured: LocalStack, slack: RecordingSlackApi
) -> None:
    slack.set_user("U0PM", status_emoji=":palm_tree:", status_text="Vacationing")

    assert out_of_office.email_owner(runtime.current()) == "U0BACKUP"


def test_given_the_pm_is_at_work_then_the_pm_owns_the_email(configured: LocalStack, slack: RecordingSlackApi) -> None:
    slack.set_user("U0PM", status_emoji=":spiral_calendar_pad:", status_text="In a meeting")

    assert out_of_office.email_owner(runtime.current()) == "U0PM"


def test_given_the_pm_is_out_when_the_email_clock_nears_then_the_checker_reminds_the_backup(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    slack.set_user("U0PM", status_text="Out of office until Monday")
    declare(send)

    configured.tick(DECLARED + timedelta(hours=20))

    [reminder] = [c for c in posts_of(slack, "sla_reminder") if c.args.get("thread_ts")]
    assert reminder.args["metadata"]["event_payload"]["sla"] == "stakeholder_email"
    assert "<@U0BACKUP>" in reminder.args["text"]


def test_given_a_promised_next_update_when_it_nears_then_the_checker_reminds_the_email_owner(
    send: Send, configured: LocalStack, slack: RecordingSlackApi
) -> None:
    declare(send)
    reply(send(EMAILED, text=f"{INC} status Rolling back next 2h", user="U0ONCALL"))

    configured.tick(EMAILED + timedelta(hours=2) - timedelta(minutes=15))

    [reminder] = [c for c in posts_of(slack, "sla_reminder") if c.args.get("thread_ts")]
    assert reminder.args["metadata"]["event_payload"] == {
        "incident_id": INC,
        "sla": "status_update",
        "due": to_iso(EMAILED + timedelta(hours=2)),
        "effect_id": f"{INC}/reminder/status_update/{to_iso(EMAILED + timedelta(hours=2))}/15",
    }
    assert "<@U0PM>" in reminder.args["text"]


# --- the invite list from the weekly sync's .ics ------------------------------------------------------------


@pytest.fixture
def share_invite(
    configured: LocalStack, slack: RecordingSlackApi, clock: VirtualClock, signed_slack_request: Signer
) -> Callable[..., HttpResponse]:
    """Upload a file to the recording Slack, then deliver the file_shared event Slack would send."""

    def _share(user: str, content: str = INVITE, filename: str = "weekly-sync.ics") -> HttpResponse:
        upload = WebClient(token=LocalSecrets().slack_bot_token, base_url=slack.base_url).files_upload_v2(
            channel=CHANNEL, content=content, filename=filename
        )
        file_id = str(upload["file"]["id"])
        event = {
            "type": "event_callback",
            "event_id": f"Ev-{file_id}",
            "event_time": int(clock().timestamp()),
            "event": {"type": "file_shared", "channel_id": CHANNEL, "file_id": file_id, "user_id": user},
        }
        request = signed_slack_request(event, clock())
        return configured.request("POST", "/slack/events", request.headers, request.body)

    return _share


def test_given_an_admin_shares_the_sync_invite_then_its_people_join_the_stakeholder_list(
    share_invite: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    assert share_invite("U0ADMIN").status == 200

    assert runtime.current().roster.load().stakeholders == (*STAKEHOLDERS, "pat.pm@va.gov", "kim@example.gov")
    [confirmed] = posts_of(slack, "stakeholders_imported")
    assert confirmed.args["channel"] == CHANNEL
    assert confirmed.args["metadata"]["event_payload"]["added"] == 2
    assert "3 address(es), 2 new. The stakeholder list now has 4." in confirmed.args["text"]


def test_given_someone_else_shares_an_invite_then_the_list_is_unchanged(
    share_invite: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    assert share_invite("U0ONCALL").status == 200

    assert runtime.current().roster.load().stakeholders == tuple(STAKEHOLDERS)
    assert slack.calls_to("files.info") == []


def test_given_an_admin_shares_a_broken_invite_then_they_are_told_why_and_the_list_is_unchanged(
    share_invite: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    assert share_invite("U0ADMIN", content="BEGIN:VCALENDAR\r\nthis is not", filename="sync.ics").status == 200

    [told] = slack.calls_to("chat.postEphemeral")
    assert told.args["user"] == "U0ADMIN"
    assert told.args["text"].startswith("Could not import sync.ics: not an iCalendar (.ics) file")
    assert runtime.current().roster.load().stakeholders == tuple(STAKEHOLDERS)


def test_given_an_admin_shares_a_file_that_is_not_an_invite_then_nothing_happens(
    share_invite: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    assert share_invite("U0ADMIN", content="agenda", filename="agenda.txt").status == 200

    assert (slack.calls_to("chat.postEphemeral"), posts_of(slack, "stakeholders_imported")) == ([], [])


def test_given_the_incident_record_fails_after_a_full_send_then_the_request_still_says_sent(
    send: Send, configured: LocalStack, slack: RecordingSlackApi, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an email SES accepted in full, and the incident's record of it failing once (a throttled write)
    declare(send)
    reply(send(EMAILED, text=f"{INC} email"))
    failures = iter([RuntimeError("the table throttled the write")])

    def record_once(*args: Any, **kwargs: Any) -> Incident:
        if (failure := next(failures, None)) is not None:
            raise failure
        return original(*args, **kwargs)

    original = IncidentStore.record_email_outcome
    monkeypatch.setattr(IncidentStore, "record_email_outcome", record_once)
    configured.drain()

    # WHEN the queue delivers it again
    clock.set(EMAILED + CLAIM_EXPIRY + timedelta(seconds=1))
    configured.drain()

    # THEN what SES said was kept: the email is recorded sent, once, and its clock met; nothing was resent
    assert len(configured.sent_emails()) == 1
    assert [item["state"] for item in email_items()] == ["sent"]
    assert stored_incident().emails[0].state == "sent"
    assert not stored_incident().deadlines[Sla.STAKEHOLDER_EMAIL].pending
    assert len(posts_of(slack, "stakeholder_email_sent")) == 1
