"""Release communications through the whole stack: signed Slack requests, the scheduler's ticks, the email queue.

Real parts only: the slash-command handler behind API Gateway, DynamoDB and SQS in moto, the email sender
on SES (moto), and the recording Slack API reached by slack_sdk. Dates are real: Wed 2026-06-10 is an
ordinary release day, Sat 2026-07-04 is Independence Day on a weekend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from prodsupport import runtime
from prodsupport.release.model import Release, ReleaseStatus
from prodsupport.release.store import ReleaseSlotTaken, ReleaseStore
from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi, SlackCall

CHANNEL = DEFAULT_SETTINGS["channel_id"]
ANNA, PAT, ADMIN, STRANGER = "U0ANNA", "U0PAT", "U0ADMIN", "U0STRANGER"
INVITE_LIST = ["sync-one@va.example.gov", "sync-two@va.example.gov"]
SETTINGS = {
    **DEFAULT_SETTINGS,
    "stakeholders": INVITE_LIST,
    "applications": ["Check-In Experience", "Pre-Check-In", "Travel Pay"],
    "pm_user_id": PAT,
    "admin_user_ids": [ADMIN],
}
WED_MAY_20 = datetime(2026, 5, 20, 14, 0, tzinfo=UTC)  # 10:00 EDT, three weeks before the release
FRI_JUN_05 = datetime(2026, 6, 5, 14, 0, tzinfo=UTC)  # five days before
DIGEST_JUN_09 = datetime(2026, 6, 9, 14, 0, tzinfo=UTC)  # Tue 10:00 EDT, the weekly sync
RELEASE_DAY_0700 = datetime(2026, 6, 10, 11, 0, tzinfo=UTC)  # Wed 07:00 EDT

Send = Callable[..., HttpResponse]


@pytest.fixture
def release_stack(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    return stack


@pytest.fixture
def send(release_stack: LocalStack, clock: VirtualClock, signed_slack_request: Callable[..., Any]) -> Send:
    def send_command(text: str, *, at: datetime, user: str = ANNA) -> HttpResponse:
        clock.set(at)
        body = urlencode(
            {
                "command": "/release",
                "text": text,
                "user_id": user,
                "channel_id": CHANNEL,
                "trigger_id": "1337.42.abcd",
            }
        )
        signed = signed_slack_request(body, at)
        return release_stack.request("POST", "/slack/commands", signed.headers, signed.body)

    return send_command


def reply_text(response: HttpResponse) -> str:
    assert response.status == 200, response.body
    return str(json.loads(response.body)["text"])


def posts_of(slack: RecordingSlackApi, event_type: str) -> list[SlackCall]:
    return [call for call in slack.posts() if (call.args.get("metadata") or {}).get("event_type") == event_type]


def payload(call: SlackCall) -> dict[str, Any]:
    return dict(call.args["metadata"]["event_payload"])


def tick(stack: LocalStack, clock: VirtualClock, at: datetime) -> None:
    clock.set(at)
    stack.tick(at)


# --- announcing -----------------------------------------------------------------------------------------


def test_given_three_weeks_notice_when_announced_then_the_channel_gets_release_scheduled_without_a_flag(
    send: Send, slack: RecordingSlackApi
) -> None:
    reply = reply_text(send("check-in experience 2026-06-10 Kiosk check-in for travel claims", at=WED_MAY_20))

    [posted] = posts_of(slack, "release_scheduled")
    assert payload(posted) == {
        "release_id": "REL-2026-0001",
        "application": "Check-In Experience",
        "date": "2026-06-10",
        "short_notice": False,
        "status": "scheduled",
    }
    assert posted.args["channel"] == CHANNEL
    assert "REL-2026-0001" in reply
    assert ":warning:" not in reply


def test_given_five_days_notice_when_announced_then_it_is_flagged_short_notice(
    send: Send, slack: RecordingSlackApi
) -> None:
    reply = reply_text(send("Travel Pay 2026-06-10 Mileage claims for the new stations", at=FRI_JUN_05))

    [posted] = posts_of(slack, "release_scheduled")
    assert payload(posted)["short_notice"] is True
    assert "Short notice: announced 5 days before" in reply
    assert "Short notice: announced 5 days before" in posted.args["text"]


def test_given_a_holiday_weekend_date_when_announced_then_it_is_accepted_with_a_warning(
    send: Send, slack: RecordingSlackApi
) -> None:
    reply = reply_text(send("Pre-Check-In 2026-07-04 Quiet-day release", at=WED_MAY_20))

    [posted] = posts_of(slack, "release_scheduled")
    assert payload(posted)["date"] == "2026-07-04"
    warning = "Saturday 07/04/2026 is not a business day (weekend, Independence Day)"
    assert warning in reply
    assert warning in posted.args["text"]


def test_given_a_past_date_when_announced_then_it_is_refused_and_nothing_is_posted(
    send: Send, slack: RecordingSlackApi
) -> None:
    reply = reply_text(send("Travel Pay 2026-05-19 Yesterday's release", at=WED_MAY_20))

    assert "is in the past" in reply
    assert slack.posts() == []
    assert "No releases are scheduled" in reply_text(send("list", at=WED_MAY_20))


def test_given_text_without_a_date_when_sent_then_the_reply_says_what_was_expected(
    send: Send, slack: RecordingSlackApi
) -> None:
    reply = reply_text(send("Travel Pay next week", at=WED_MAY_20))

    assert "`next` is not a date; use YYYY-MM-DD" in reply
    assert slack.posts() == []


def test_given_the_same_application_and_date_when_announced_again_then_the_release_is_updated_not_duplicated(
    send: Send, slack: RecordingSlackApi
) -> None:
    send("Travel Pay 2026-06-10 First wording", at=WED_MAY_20)

    send("travel pay 2026-06-10 Better wording", at=FRI_JUN_05)

    first, second = posts_of(slack, "release_scheduled")
    assert payload(first)["release_id"] == payload(second)["release_id"] == "REL-2026-0001"
    assert payload(second)["short_notice"] is False  # notice counts from the first announcement
    assert "updated by" in second.args["text"]
    assert "Better wording" in reply_text(send("list", at=FRI_JUN_05))


def test_given_markup_in_the_summary_when_posted_then_it_is_escaped(send: Send, slack: RecordingSlackApi) -> None:
    send("Travel Pay 2026-06-10 Fix &lt;!channel&gt; &amp; tolls", at=WED_MAY_20)

    [posted] = posts_of(slack, "release_scheduled")
    assert "Fix &lt;!channel&gt; &amp; tolls" in posted.args["text"]
    assert "<!channel>" not in posted.args["text"]


# --- listing and cancelling -----------------------------------------------------------------------------


def test_given_scheduled_and_cancelled_releases_when_listed_then_only_the_scheduled_ones_show(send: Send) -> None:
    send("Travel Pay 2026-06-10 Mileage", at=WED_MAY_20)
    send("Pre-Check-In 2026-06-17 Reminders", at=WED_MAY_20)
    send("cancel REL-2026-0002", at=WED_MAY_20)

    listed = reply_text(send("list", at=WED_MAY_20))

    assert "REL-2026-0001" in listed
    assert "REL-2026-0002" not in listed


def test_given_someone_else_when_they_cancel_then_it_is_refused(send: Send, slack: RecordingSlackApi) -> None:
    send("Travel Pay 2026-06-10 Mileage", at=WED_MAY_20)

    reply = reply_text(send("cancel REL-2026-0001", at=WED_MAY_20, user=STRANGER))

    assert "can cancel it" in reply
    assert len(posts_of(slack, "release_scheduled")) == 1


@pytest.mark.parametrize("user", [ANNA, PAT, ADMIN], ids=["announcer", "pm", "admin"])
def test_given_the_announcer_pm_or_admin_when_they_cancel_then_the_change_is_posted(
    send: Send, slack: RecordingSlackApi, user: str
) -> None:
    send("Travel Pay 2026-06-10 Mileage", at=WED_MAY_20)

    reply = reply_text(send("cancel rel-2026-0001", at=WED_MAY_20, user=user))

    cancelled = posts_of(slack, "release_scheduled")[-1]
    assert payload(cancelled)["status"] == "cancelled"
    assert "no release-day email will go out" in reply


def test_given_a_cancelled_release_when_cancelled_again_then_nothing_more_is_posted(
    send: Send, slack: RecordingSlackApi
) -> None:
    send("Travel Pay 2026-06-10 Mileage", at=WED_MAY_20)
    send("cancel REL-2026-0001", at=WED_MAY_20)

    reply = reply_text(send("cancel REL-2026-0001", at=FRI_JUN_05))

    assert reply == "REL-2026-0001 is already cancelled."
    assert len(posts_of(slack, "release_scheduled")) == 2


def test_given_an_unknown_release_when_cancelled_then_the_reply_says_so(send: Send) -> None:
    assert "There is no release REL-2026-0042" in reply_text(send("cancel REL-2026-0042", at=WED_MAY_20))


# --- the form -------------------------------------------------------------------------------------------


def test_given_release_alone_when_sent_then_the_release_form_opens(send: Send, slack: RecordingSlackApi) -> None:
    response = send("", at=WED_MAY_20)

    assert response.status == 200
    [opened] = slack.calls_to("views.open")
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "release_create"
    assert [block["block_id"] for block in view["blocks"]] == ["application", "date", "summary", "notes", "link"]


def _submission(values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": ANNA},
        "view": {
            "callback_id": "release_create",
            "blocks": [{"block_id": "application"}],
            "state": {"values": {block: {"value": element} for block, element in values.items()}},
        },
    }


def _submit(
    release_stack: LocalStack, clock: VirtualClock, signed: Callable[..., Any], payload_: dict[str, Any]
) -> HttpResponse:
    clock.set(WED_MAY_20)
    request = signed(urlencode({"payload": json.dumps(payload_)}), WED_MAY_20)
    return release_stack.request("POST", "/slack/interactions", request.headers, request.body)


def test_given_the_form_with_notes_and_a_link_when_submitted_then_the_release_is_scheduled_with_them(
    release_stack: LocalStack, clock: VirtualClock, signed_slack_request: Callable[..., Any], slack: RecordingSlackApi
) -> None:
    form = _submission(
        {
            "application": {"type": "static_select", "selected_option": {"value": "Check-In Experience"}},
            "date": {"type": "datepicker", "selected_date": "2026-06-10"},
            "summary": {"type": "plain_text_input", "value": "Kiosk check-in for travel claims"},
            "notes": {"type": "plain_text_input", "value": "Feature flag on for all stations."},
            "link": {"type": "url_text_input", "value": "https://github.com/example/releases/1"},
        }
    )

    response = _submit(release_stack, clock, signed_slack_request, form)

    assert response.status == 200
    assert response.body in (b"", b"null")
    [posted] = posts_of(slack, "release_scheduled")
    assert payload(posted)["application"] == "Check-In Experience"
    assert "*Notes:* Feature flag on for all stations." in posted.args["text"]
    assert "<https://github.com/example/releases/1>" in posted.args["text"]


def test_given_the_form_with_a_bad_link_when_submitted_then_the_form_shows_the_error_and_nothing_is_stored(
    release_stack: LocalStack, clock: VirtualClock, signed_slack_request: Callable[..., Any], slack: RecordingSlackApi
) -> None:
    form = _submission(
        {
            "application": {"type": "static_select", "selected_option": {"value": "Travel Pay"}},
            "date": {"type": "datepicker", "selected_date": "2026-06-10"},
            "summary": {"type": "plain_text_input", "value": "Mileage"},
            "link": {"type": "url_text_input", "value": "javascript:alert(1)"},
        }
    )

    response = _submit(release_stack, clock, signed_slack_request, form)

    answer = json.loads(response.body)
    assert answer["response_action"] == "errors"
    assert "http(s) URL" in answer["errors"]["application"]
    assert slack.posts() == []


# --- the weekly-sync digest -----------------------------------------------------------------------------


def test_given_releases_inside_and_beyond_six_weeks_when_the_digest_runs_then_only_those_inside_are_listed(
    send: Send, release_stack: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    send("Check-In Experience 2026-06-10 Kiosk", at=WED_MAY_20)  # three weeks ahead
    send("Travel Pay 2026-06-10 Mileage", at=FRI_JUN_05)  # five days ahead
    send("Pre-Check-In 2026-07-20 Last day of the sixth week", at=FRI_JUN_05)
    send("Pre-Check-In 2026-07-21 Beyond six weeks", at=FRI_JUN_05)
    send("Pre-Check-In 2026-06-12 Cancelled", at=FRI_JUN_05)
    send("cancel REL-2026-0005", at=FRI_JUN_05)

    tick(release_stack, clock, DIGEST_JUN_09)

    [digest] = posts_of(slack, "release_digest")
    assert payload(digest) == {
        "releases": [
            {
                "release_id": "REL-2026-0001",
                "application": "Check-In Experience",
                "date": "2026-06-10",
                "short_notice": False,
            },
            {"release_id": "REL-2026-0002", "application": "Travel Pay", "date": "2026-06-10", "short_notice": True},
            {"release_id": "REL-2026-0003", "application": "Pre-Check-In", "date": "2026-07-20", "short_notice": False},
        ]
    }
    assert digest.args["channel"] == CHANNEL
    assert "short notice (announced 5 days before)" in digest.args["text"]


def test_given_no_releases_when_the_digest_runs_then_it_says_so(
    release_stack: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    tick(release_stack, clock, DIGEST_JUN_09)

    [digest] = posts_of(slack, "release_digest")
    assert payload(digest) == {"releases": []}
    assert "No releases are scheduled" in digest.args["text"]


def test_given_the_scheduler_delivers_the_digest_twice_when_it_runs_then_it_is_posted_once(
    release_stack: LocalStack, clock: VirtualClock, slack: RecordingSlackApi, load_event: Callable[[str], Any]
) -> None:
    event = load_event("sla_checker_release_digest.json")

    release_stack.invoke("SlaCheckerFunction", event)
    release_stack.invoke("SlaCheckerFunction", event)

    assert len(posts_of(slack, "release_digest")) == 1


def test_given_a_wednesday_when_ticked_then_no_digest_is_posted(
    release_stack: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    tick(release_stack, clock, RELEASE_DAY_0700)

    assert posts_of(slack, "release_digest") == []


# --- release day ----------------------------------------------------------------------------------------


def test_given_a_release_today_when_07_00_ticks_twice_then_the_invite_list_gets_one_email(
    send: Send, release_stack: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    send("Check-In Experience 2026-06-10 Kiosk check-in for travel claims", at=WED_MAY_20)

    tick(release_stack, clock, RELEASE_DAY_0700)
    tick(release_stack, clock, RELEASE_DAY_0700)

    [email] = release_stack.sent_emails()
    assert email.subject == "Check-In Experience Release 06-10-2026"
    assert sorted(email.to) == INVITE_LIST
    assert email.text is not None
    assert "Kiosk check-in for travel claims" in email.text
    [sent] = posts_of(slack, "stakeholder_email_sent")
    assert payload(sent) == {
        "release_id": "REL-2026-0001",
        "message_id": email.message_id,
        "recipients": 2,
        "subject": "Check-In Experience Release 06-10-2026",
    }


def test_given_a_cancelled_release_when_its_day_comes_then_nothing_is_sent(
    send: Send, release_stack: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    send("Travel Pay 2026-06-10 Mileage", at=WED_MAY_20)
    send("cancel REL-2026-0001", at=WED_MAY_20)
    posted_before = len(slack.posts())

    tick(release_stack, clock, RELEASE_DAY_0700)

    assert release_stack.sent_emails() == []
    assert len(slack.posts()) == posted_before


def test_given_a_release_tomorrow_when_07_00_ticks_then_nothing_is_sent_yet(
    send: Send, release_stack: LocalStack, clock: VirtualClock
) -> None:
    send("Travel Pay 2026-06-11 Mileage", at=WED_MAY_20)

    tick(release_stack, clock, RELEASE_DAY_0700)

    assert release_stack.sent_emails() == []


def test_given_a_release_announced_on_its_day_after_07_00_when_announced_then_the_email_goes_at_once_and_once(
    send: Send, release_stack: LocalStack, clock: VirtualClock
) -> None:
    noon = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)

    reply = reply_text(send("Travel Pay 2026-06-10 Hotfix for mileage rounding", at=noon))
    release_stack.drain()
    tick(release_stack, clock, datetime(2026, 6, 11, 11, 0, tzinfo=UTC))

    [email] = release_stack.sent_emails()
    assert email.subject == "Travel Pay Release 06-10-2026"
    assert "Short notice: announced on the release day" in reply


def test_given_an_empty_invite_list_when_the_release_day_comes_then_the_channel_is_told_and_nothing_is_sent(
    send: Send, release_stack: LocalStack, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    release_stack.configure({**SETTINGS, "stakeholders": []})
    send("Travel Pay 2026-06-10 Mileage", at=WED_MAY_20)

    tick(release_stack, clock, RELEASE_DAY_0700)

    assert release_stack.sent_emails() == []
    assert "the stakeholder list is empty" in slack.posts()[-1].args["text"]


DAY = date(2026, 12, 15)
ANNOUNCED = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def test_given_two_announcements_racing_for_one_date_when_both_create_then_only_one_release_exists(
    stack: LocalStack,
) -> None:
    store = ReleaseStore(runtime.current().table)
    store.create(Release("REL-2026-0001", "Check-In Experience", DAY, "Kiosk claims", ANNOUNCED, "U0PM"))
    with pytest.raises(ReleaseSlotTaken):
        store.create(Release("REL-2026-0002", "check-in experience", DAY, "Kiosk claims", ANNOUNCED, "U0ENG"))
    assert [r.id for r in store.dated(DAY, DAY)] == ["REL-2026-0001"]


def test_given_a_cancelled_release_when_its_date_is_announced_again_then_a_new_release_is_scheduled(
    stack: LocalStack,
) -> None:
    store = ReleaseStore(runtime.current().table)
    store.create(Release("REL-2026-0001", "Check-In Experience", DAY, "v1", ANNOUNCED, "U0PM"))
    store.cancel("REL-2026-0001")
    store.create(Release("REL-2026-0002", "Check-In Experience", DAY, "v2", ANNOUNCED, "U0PM"))
    assert [r.id for r in store.dated(DAY, DAY) if r.status is ReleaseStatus.SCHEDULED] == ["REL-2026-0002"]
