"""The recording Slack and PagerDuty APIs, driven the way the bot drives the real ones.

Slack is reached through the real ``slack_sdk.WebClient`` (so request encoding and retry handlers are the
library's own); PagerDuty through plain urllib. Nothing here sleeps except the two hang cases, which wait for
a tiny client timeout.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from types import SimpleNamespace
from typing import Any
from urllib.error import HTTPError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from prodsupport_local.fakes.base import Fault
from prodsupport_local.fakes.recording_pagerduty import RecordingPagerDutyApi
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

TOKEN = "xoxb-test"
PD_TOKEN = "pd-test-key"
START = datetime(2025, 11, 27, 8, 0, tzinfo=UTC)  # 1764230400
HANG_TIMEOUT_SECONDS = 0.2


class VirtualClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class NoJitter(Jitter):
    """slack_sdk's default jitter adds up to a second; retries here must not wait at all."""

    def recalculate(self, duration: float) -> float:
        return duration


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def slack(clock: VirtualClock) -> Iterator[RecordingSlackApi]:
    with RecordingSlackApi(ts_clock=clock) as api:
        yield api


@pytest.fixture
def client(slack: RecordingSlackApi) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.base_url)


@pytest.fixture
def pagerduty() -> Iterator[RecordingPagerDutyApi]:
    with RecordingPagerDutyApi(token=PD_TOKEN) as api:
        yield api


@pytest.fixture
def no_rate_limit_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """RateLimitErrorRetryHandler sleeps Retry-After plus random.random(); make that random part zero."""
    monkeypatch.setattr(builtin_handlers, "random", SimpleNamespace(random=lambda: 0.0))


# -- Slack: chat.postMessage ---------------------------------------------------------------------------------


def test_post_message_ts_is_virtual_seconds_and_post_count(
    slack: RecordingSlackApi, client: WebClient, clock: VirtualClock
) -> None:
    # GIVEN a virtual clock at 2025-11-27T08:00:00Z
    # WHEN the bot posts twice, then once more a minute later in the first message's thread
    first = client.chat_postMessage(channel="C1", text="one")
    second = client.chat_postMessage(channel="C1", text="two")
    clock.now = START + timedelta(minutes=1)
    reply = client.chat_postMessage(channel="C1", text="three", thread_ts=first["ts"])

    # THEN each ts is the virtual time in whole seconds and the count of posts so far
    assert [first["ts"], second["ts"], reply["ts"]] == [
        "1764230400.000001",
        "1764230400.000002",
        "1764230460.000003",
    ]
    assert reply["message"]["thread_ts"] == "1764230400.000001"
    assert reply["message"]["user"] == "UBOT"
    assert reply["message"]["bot_id"] == "BPRODSUPPORT"
    assert reply["channel"] == "C1"
    assert [call.args["text"] for call in slack.posts()] == ["one", "two", "three"]


def test_post_message_metadata_is_recorded_decoded(slack: RecordingSlackApi, client: WebClient) -> None:
    metadata = {"event_type": "incident_declared", "event_payload": {"incident_id": "INC-2025-0001"}}

    response = client.chat_postMessage(channel="C1", text="declared", metadata=metadata)

    assert slack.posts()[0].args["metadata"] == metadata
    assert response["message"]["metadata"] == metadata


def test_form_encoded_json_string_fields_are_decoded(slack: RecordingSlackApi, client: WebClient) -> None:
    # GIVEN a form-encoded post (not slack_sdk's JSON body) carrying metadata and blocks as JSON strings
    metadata = {"event_type": "sla_reminder", "event_payload": {"sla": "slack_ack"}}
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    form = {"channel": "C1", "text": "hi", "metadata": json.dumps(metadata), "blocks": json.dumps(blocks)}

    client.api_call("chat.postMessage", params=form)

    args = slack.posts()[0].args
    assert args["metadata"] == metadata
    assert args["blocks"] == blocks


def test_post_message_without_channel_or_text_fails_like_slack(slack: RecordingSlackApi, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_text, pytest.warns(UserWarning, match="`text` argument"):
        client.chat_postMessage(channel="C1")
    with pytest.raises(SlackApiError) as no_channel:
        client.chat_postMessage(channel="", text="lost")

    assert no_text.value.response["error"] == "no_text"
    assert no_channel.value.response["error"] == "channel_not_found"
    assert slack.posts() == []
    assert client.chat_postMessage(channel="C1", text="ok")["ts"] == "1764230400.000001"


def test_post_ephemeral_answers_message_ts_and_counts_as_a_post(slack: RecordingSlackApi, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="C1", user="U1", text="expected: /incident <sev> <title>")

    assert response["message_ts"].startswith("1764230400.")
    assert [(call.method, call.args["user"]) for call in slack.posts()] == [("chat.postEphemeral", "U1")]
    # an ephemeral message does not advance the chat.postMessage count
    assert client.chat_postMessage(channel="C1", text="x")["ts"] == "1764230400.000001"


def test_update_and_permalink(slack: RecordingSlackApi, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="draft")

    updated = client.chat_update(channel="C1", ts=posted["ts"], text="final")
    permalink = client.chat_getPermalink(channel="C1", message_ts=posted["ts"])

    assert updated["message"]["text"] == "final"
    assert updated["ts"] == posted["ts"]
    assert permalink["permalink"] == "https://example.slack.com/archives/C1/p1764230400000001"
    assert [call.method for call in slack.calls] == ["chat.postMessage", "chat.update", "chat.getPermalink"]


# -- Slack: other methods ------------------------------------------------------------------------------------


def test_files_upload_v2_records_the_uploaded_content(slack: RecordingSlackApi, client: WebClient) -> None:
    content = "Incident Summary:\nCheck-in kiosks down\n"

    response = client.files_upload_v2(
        channel="C1", content=content, filename="summary.txt", title="Summary", initial_comment="attached"
    )

    assert [call.method for call in slack.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    url_call, complete = slack.calls
    assert url_call.args["filename"] == "summary.txt"
    assert url_call.response["upload_url"].startswith(slack.base_url.removesuffix("api/") + "upload/")
    assert complete.args["content"] == content
    assert complete.args["channel_id"] == "C1"
    assert complete.args["files"][0]["id"] == url_call.response["file_id"]
    assert complete.args["files"][0]["title"] == "Summary"
    assert response["file"]["id"] == url_call.response["file_id"]


def test_users_lookup_by_email_and_profile(slack: RecordingSlackApi, client: WebClient) -> None:
    slack.set_user("UPM", email="pm@example.com", status_text="Out of office", status_emoji=":palm_tree:")

    found = client.users_lookupByEmail(email="PM@example.com")
    profile = client.users_profile_get(user="UPM")
    with pytest.raises(SlackApiError) as missing:
        client.users_lookupByEmail(email="nobody@example.com")

    assert found["user"]["id"] == "UPM"
    assert profile["profile"]["status_text"] == "Out of office"
    assert profile["profile"]["status_emoji"] == ":palm_tree:"
    assert profile["profile"]["email"] == "pm@example.com"
    assert missing.value.response["error"] == "users_not_found"


def test_users_given_at_construction_and_bot_identity(clock: VirtualClock) -> None:
    users: dict[str, dict[str, Any]] = {
        "UALERT": {"is_bot": True},
        "UDEV": {"email": "dev@example.com", "real_name": "Dev One"},
    }
    with RecordingSlackApi(ts_clock=clock, users=users) as slack:
        client = WebClient(token=TOKEN, base_url=slack.base_url)

        alert_bot = client.users_info(user="UALERT")["user"]
        dev = client.users_info(user="UDEV")["user"]
        stranger = client.users_info(user="UOTHER")["user"]
        auth = client.auth_test()

    assert alert_bot["is_bot"] is True
    assert dev["real_name"] == "Dev One"
    assert dev["profile"]["email"] == "dev@example.com"
    assert stranger["is_bot"] is False
    assert (auth["user_id"], auth["bot_id"]) == ("UBOT", "BPRODSUPPORT")


def test_views_conversations_and_reactions(slack: RecordingSlackApi, client: WebClient) -> None:
    view = {"type": "modal", "callback_id": "declare", "title": {"type": "plain_text", "text": "Declare"}}

    opened = client.views_open(trigger_id="123.456", view=view)
    updated = client.views_update(view_id=opened["view"]["id"], view={**view, "callback_id": "declare2"})
    published = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    dm = client.conversations_open(users="U1")
    client.reactions_add(channel="C1", timestamp="1764230400.000001", name="eyes")

    assert slack.calls_to("views.open")[0].args["view"] == view  # form-encoded JSON string, decoded
    assert updated["view"]["id"] == opened["view"]["id"]
    assert updated["view"]["callback_id"] == "declare2"
    assert published["view"]["type"] == "home"
    assert dm["channel"]["id"] == "DU1"
    assert slack.calls_to("reactions.add")[0].args["name"] == "eyes"


def test_unknown_method_and_missing_token(slack: RecordingSlackApi, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("incidents.explode")
    with pytest.raises(SlackApiError) as anonymous:
        WebClient(base_url=slack.base_url).chat_postMessage(channel="C1", text="who am I")

    assert unknown.value.response.status_code == 200
    assert unknown.value.response["error"] == "unknown_method"
    assert anonymous.value.response["error"] == "not_authed"
    assert slack.posts() == []


def test_echo_prints_one_line_per_successful_post_with_its_ts(
    clock: VirtualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    with RecordingSlackApi(ts_clock=clock, echo=True) as slack:
        client = WebClient(token=TOKEN, base_url=slack.base_url)
        client.chat_postMessage(channel="C1", text="Incident INC-2025-0001\ndeclared")
        with pytest.raises(SlackApiError):
            client.users_lookupByEmail(email="nobody@example.com")

    assert (
        capsys.readouterr().out
        == '[slack] chat.postMessage C1 ts=1764230400.000001 "Incident INC-2025-0001\\ndeclared"\n'
    )


def test_echo_shows_the_thread_of_a_reply_and_leaves_out_reads(
    clock: VirtualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    with RecordingSlackApi(ts_clock=clock, echo=True) as slack:
        client = WebClient(token=TOKEN, base_url=slack.base_url)
        client.users_profile_get(user="U1")
        client.chat_postMessage(channel="C1", text="ack", thread_ts="1764230000.000100")

    assert capsys.readouterr().out == (
        '[slack] chat.postMessage C1 ts=1764230400.000001 thread_ts=1764230000.000100 "ack"\n'
    )


def test_clear_forgets_calls_but_keeps_the_post_count(slack: RecordingSlackApi, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="one")
    slack.fail_next("chat.postMessage")

    slack.clear()
    second = client.chat_postMessage(channel="C1", text="two")

    assert second["ts"] == "1764230400.000002"
    assert [call.args["text"] for call in slack.calls] == ["two"]


# -- Slack: fault injection ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_rate_limit_jitter")
def test_rate_limit_is_retried_by_slack_sdk(slack: RecordingSlackApi) -> None:
    # GIVEN Slack rate-limits the next post with Retry-After: 0
    slack.fail_next("chat.postMessage", retry_after=0)
    client = WebClient(
        token=TOKEN, base_url=slack.base_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )

    # WHEN the bot posts once
    response = client.chat_postMessage(channel="C1", text="retried")

    # THEN slack_sdk made exactly two attempts and one post landed, numbered as the first post
    attempts = slack.calls_to("chat.postMessage")
    assert [call.status for call in attempts] == [429, 200]
    assert attempts[0].response == {"ok": False, "error": "ratelimited"}
    assert len(slack.posts()) == 1
    assert response["ts"] == "1764230400.000001"


def test_posts_beyond_the_per_channel_burst_are_refused_with_retry_after(
    slack: RecordingSlackApi, client: WebClient
) -> None:
    slack.limit_posts_per_channel(per_second=1.0, burst=3)
    for _ in range(3):
        client.chat_postMessage(channel="C1", text="burst")

    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="one too many")

    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "1"
    assert [call.args["text"] for call in slack.posts()] == ["burst"] * 3


def test_the_per_channel_limit_leaves_other_channels_their_own_burst(
    slack: RecordingSlackApi, client: WebClient
) -> None:
    slack.limit_posts_per_channel(per_second=1.0, burst=1)
    client.chat_postMessage(channel="C1", text="first channel")

    client.chat_postMessage(channel="C2", text="second channel")

    assert len(slack.posts()) == 2


def test_server_errors_are_retried_by_slack_sdk(slack: RecordingSlackApi) -> None:
    slack.fail_next("chat.postMessage", status=500, times=2)
    retry = ServerErrorRetryHandler(
        max_retry_count=2,
        interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=0, jitter=NoJitter()),
    )
    client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[retry])

    response = client.chat_postMessage(channel="C1", text="third time lucky")

    assert [call.status for call in slack.calls_to("chat.postMessage")] == [500, 500, 200]
    assert [call.args["text"] for call in slack.posts()] == ["third time lucky"]
    assert response["ts"] == "1764230400.000001"


def test_server_error_without_retry_handler_surfaces(slack: RecordingSlackApi, client: WebClient) -> None:
    slack.fail_next("chat.postMessage")

    with pytest.raises(SlackApiError) as failure:
        client.chat_postMessage(channel="C1", text="lost")

    assert failure.value.response.status_code == 500
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert slack.posts() == []


def test_slack_error_answer(slack: RecordingSlackApi, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as failure:
        client.chat_postMessage(channel="C1", text="nowhere")
    client.chat_postMessage(channel="C1", text="somewhere")

    assert failure.value.response.status_code == 200
    assert failure.value.response["error"] == "channel_not_found"
    assert [call.response["ok"] for call in slack.calls_to("chat.postMessage")] == [False, True]
    assert [call.args["text"] for call in slack.posts()] == ["somewhere"]


def test_hang_exercises_the_client_timeout(slack: RecordingSlackApi) -> None:
    slack.fail_next("chat.postMessage", hang_seconds=30)
    client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=HANG_TIMEOUT_SECONDS)  # type: ignore[arg-type]

    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow")

    # the attempt is recorded, still unanswered; stopping the server releases it
    [attempt] = slack.calls_to("chat.postMessage")
    assert attempt.status == 0
    assert slack.posts() == []


def test_a_late_answer_posts_at_once_and_answers_after_the_client_gave_up(slack: RecordingSlackApi) -> None:
    slack.fail_next("chat.postMessage", answer_late_seconds=30)
    client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=HANG_TIMEOUT_SECONDS)  # type: ignore[arg-type]

    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow", thread_ts="1.000001")

    # Slack posted it: it is recorded as a success and is in the thread
    [posted] = slack.posts()
    assert posted.args["text"] == "slow"
    replies = WebClient(token=TOKEN, base_url=slack.base_url).conversations_replies(channel="C1", ts="1.000001")
    assert [m["text"] for m in replies["messages"]] == ["slow"]


def test_conversations_replies_has_metadata_only_when_asked(slack: RecordingSlackApi, client: WebClient) -> None:
    root = client.chat_postMessage(channel="C1", text="root")["ts"]
    metadata = {"event_type": "x", "event_payload": {"effect_id": "e1"}}
    client.chat_postMessage(channel="C1", text="reply", thread_ts=root, metadata=metadata)
    client.chat_postMessage(channel="C2", text="elsewhere", thread_ts=root)

    plain = client.conversations_replies(channel="C1", ts=root)["messages"]
    full = client.conversations_replies(channel="C1", ts=root, include_all_metadata=True)["messages"]

    assert [m["text"] for m in plain] == ["root", "reply"]
    assert "metadata" not in plain[1]
    assert full[1]["metadata"] == metadata


# -- PagerDuty -----------------------------------------------------------------------------------------------


def pd_get(api: RecordingPagerDutyApi, path: str, *, token: str | None = PD_TOKEN, timeout: float = 5) -> Any:
    """GET ``path`` as a PagerDuty client would; answers (status, JSON body, headers)."""
    headers = {"Accept": "application/vnd.pagerduty+json;version=2"}
    if token is not None:
        headers["Authorization"] = f"Token token={token}"
    request = urllib.request.Request(api.base_url + path, headers=headers)  # noqa: S310 - local http URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local http URL
            status: int = response.status
            response_headers: Message = response.headers
            body = json.loads(response.read())
    except HTTPError as error:
        status, response_headers, body = error.code, error.headers, json.loads(error.read())
    return status, body, response_headers


def test_oncalls_answers_a_user_reference_and_users_has_the_email(pagerduty: RecordingPagerDutyApi) -> None:
    # GIVEN Ana is on call for PEP1 and Bo for another policy
    pagerduty.set_oncall("PEP1", "PUANA", "ana@example.com", "Ana Oncall")
    pagerduty.set_oncall("PEP2", "PUBO", "bo@example.com", "Bo Other")

    # WHEN the bot asks who is on call for PEP1, then looks the user up
    status, body, _ = pd_get(pagerduty, "/oncalls?escalation_policy_ids%5B%5D=PEP1&earliest=true")
    [oncall] = body["oncalls"]
    user_status, user_body, _ = pd_get(pagerduty, f"/users/{oncall['user']['id']}")

    # THEN the on-call carries a user reference (no email) and /users/{id} gives the email
    assert status == 200
    assert oncall["user"]["id"] == "PUANA"
    assert oncall["user"]["type"] == "user_reference"
    assert oncall["user"]["summary"] == "Ana Oncall"
    assert "email" not in oncall["user"]
    assert oncall["escalation_level"] == 1
    assert oncall["escalation_policy"]["id"] == "PEP1"
    assert (oncall["start"], oncall["end"]) == (None, None)
    assert body["more"] is False
    assert user_status == 200
    user = user_body["user"]
    assert (user["id"], user["name"], user["email"]) == ("PUANA", "Ana Oncall", "ana@example.com")
    assert pagerduty.calls_to("/oncalls")[0].query["escalation_policy_ids[]"] == ["PEP1"]


def test_oncalls_include_users_and_replacement(pagerduty: RecordingPagerDutyApi) -> None:
    pagerduty.set_oncall("PEP1", "PUANA", "ana@example.com", "Ana Oncall")
    pagerduty.set_oncall("PEP1", "PUCY", "cy@example.com", "Cy Next", start=START, end=START + timedelta(days=7))

    _, body, _ = pd_get(pagerduty, "/oncalls?escalation_policy_ids[]=PEP1&include[]=users")

    [oncall] = body["oncalls"]
    assert oncall["user"]["email"] == "cy@example.com"
    assert (oncall["start"], oncall["end"]) == ("2025-11-27T08:00:00Z", "2025-12-04T08:00:00Z")


def test_pagerduty_requires_a_token(pagerduty: RecordingPagerDutyApi) -> None:
    pagerduty.set_oncall("PEP1", "PUANA", "ana@example.com", "Ana Oncall")

    anonymous, body, _ = pd_get(pagerduty, "/oncalls", token=None)
    wrong_key, _, _ = pd_get(pagerduty, "/oncalls", token="not-the-key")

    assert (anonymous, wrong_key) == (401, 401)
    assert body == {"error": {"message": "Authentication failed", "code": 2006}}
    assert [call.status for call in pagerduty.calls] == [401, 401]


def test_pagerduty_unknown_user_is_not_found(pagerduty: RecordingPagerDutyApi) -> None:
    status, body, _ = pd_get(pagerduty, "/users/PNOBODY")

    assert status == 404
    assert body["error"]["code"] == 2100


def test_pagerduty_fail_next(pagerduty: RecordingPagerDutyApi) -> None:
    pagerduty.set_oncall("PEP1", "PUANA", "ana@example.com", "Ana Oncall")
    pagerduty.fail_next("/oncalls", status=503)
    pagerduty.fail_next("/oncalls", retry_after=7)

    first, _, _ = pd_get(pagerduty, "/oncalls")
    second, _, headers = pd_get(pagerduty, "/oncalls")
    third, body, _ = pd_get(pagerduty, "/oncalls")
    user, _, _ = pd_get(pagerduty, "/users/PUANA")

    assert (first, second, third, user) == (503, 429, 200, 200)
    assert headers["Retry-After"] == "7"
    assert body["oncalls"][0]["user"]["id"] == "PUANA"
    assert [call.status for call in pagerduty.calls_to("/oncalls")] == [503, 429, 200]


def test_pagerduty_hang_exercises_the_client_timeout(pagerduty: RecordingPagerDutyApi) -> None:
    pagerduty.fail_next("/oncalls", hang_seconds=30)

    with pytest.raises(TimeoutError):
        pd_get(pagerduty, "/oncalls", timeout=HANG_TIMEOUT_SECONDS)

    [attempt] = pagerduty.calls_to("/oncalls")
    assert attempt.status == 0


def test_a_fault_after_calls_lets_that_many_calls_through_first(pagerduty: RecordingPagerDutyApi) -> None:
    pagerduty.set_oncall("PEP1", "PUANA", "ana@example.com", "Ana Oncall")
    pagerduty.add_fault("/oncalls", Fault(status=503, after_calls=1))

    statuses = [pd_get(pagerduty, "/oncalls")[0] for _ in range(3)]

    assert statuses == [200, 503, 200]


def test_a_slack_fault_hits_its_method_only_and_a_pagerduty_fault_every_path_under_its_prefix(
    slack: RecordingSlackApi, client: WebClient, pagerduty: RecordingPagerDutyApi
) -> None:
    slack.fail_next("chat.post", error="internal_error")
    pagerduty.fail_next("/users", status=503)

    posted = client.chat_postMessage(channel="C1", text="hi")
    refused, _, _ = pd_get(pagerduty, "/users/PNOBODY")

    assert posted["ok"] is True
    assert refused == 503
