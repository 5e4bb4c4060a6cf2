"""The Slack handler through the HttpApi on emulated AWS and the recording Slack API."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from prodsupport import runtime
from prodsupport.core.timefmt import to_iso
from prodsupport.incident.store import IncidentStore
from prodsupport_local.emulator.stack import LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi

Signer = Callable[..., Any]
CHANNEL = "C0PRODSUP"
SETTINGS = {"alert_bot_ids": ["B0DATADOG"], "admin_user_ids": ["U0ADMIN"], "pm_user_id": "U0PM"}


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    return stack


def items(stack: LocalStack) -> list[dict[str, Any]]:
    client = stack.aws.client("dynamodb")
    return client.scan(TableName=stack.aws.table_name("IncidentsTable"))["Items"]


def state(stack: LocalStack) -> list[dict[str, Any]]:
    """Everything but the delivery-dedupe records: what a command could have changed."""
    return [item for item in items(stack) if not item["pk"]["S"].startswith("DEDUPE#")]


def post_event(
    stack: LocalStack,
    sign: Signer,
    clock: VirtualClock,
    event: dict[str, Any],
    event_id: str,
    headers: dict[str, str] | None = None,
) -> Any:
    body = {
        "type": "event_callback",
        "team_id": "T0VA",
        "event_id": event_id,
        "event_time": int(clock().timestamp()),
        "event": event,
    }
    request = sign(body, clock())
    return stack.request("POST", "/slack/events", {**request.headers, **(headers or {})}, request.body)


def command(
    stack: LocalStack, sign: Signer, clock: VirtualClock, text: str, user: str = "U0ENG", name: str = "/incident"
) -> dict[str, Any]:
    form = urlencode({"command": name, "text": text, "user_id": user, "channel_id": CHANNEL, "trigger_id": "1.2"})
    request = sign(form, clock())
    response = stack.request("POST", "/slack/commands", request.headers, request.body)
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


def alert(clock: VirtualClock) -> dict[str, Any]:
    ts = f"{int(clock().timestamp())}.000100"
    return {
        "type": "message",
        "channel": CHANNEL,
        "bot_id": "B0DATADOG",
        "subtype": "bot_message",
        "text": "Triggered: check-in API 5xx",
        "ts": ts,
    }


def reply(clock: VirtualClock, thread_ts: str, user: str = "U0ONCALL", **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": CHANNEL,
        "user": user,
        "text": "on it",
        "ts": f"{int(clock().timestamp())}.000200",
        "thread_ts": thread_ts,
        **extra,
    }


def event_types(slack: RecordingSlackApi) -> list[str]:
    return [(c.args.get("metadata") or {}).get("event_type", "") for c in slack.calls_to("chat.postMessage") if c.ok]


def test_url_verification_is_answered_with_the_challenge(
    stack: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    request = signed_slack_request({"type": "url_verification", "challenge": "abc"}, clock())
    response = stack.request("POST", "/slack/events", request.headers, request.body)
    assert (response.status, json.loads(response.body)) == (200, {"challenge": "abc"})


def test_a_bad_signature_is_401_and_writes_nothing(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    response = post_event(
        configured, signed_slack_request, clock, alert(clock), "Ev1", headers={"X-Slack-Signature": "v0=" + "0" * 64}
    )
    assert response.status == 401
    assert items(configured) == [] and slack.calls == []


def test_a_replayed_request_outside_five_minutes_is_401(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    request = signed_slack_request({"type": "url_verification", "challenge": "abc"}, clock())
    clock.advance(timedelta(minutes=5, seconds=1))
    assert configured.request("POST", "/slack/events", request.headers, request.body).status == 401


def test_malformed_json_is_400_saying_what_is_wrong(
    stack: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    request = signed_slack_request(b"{not json", clock())
    response = stack.request(
        "POST", "/slack/events", {**request.headers, "Content-Type": "application/json"}, request.body
    )
    assert response.status == 400 and b"not valid JSON" in response.body


def test_an_event_callback_without_an_event_id_is_400(
    stack: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    request = signed_slack_request({"type": "event_callback", "event": {}}, clock())
    response = stack.request("POST", "/slack/events", request.headers, request.body)
    assert response.status == 400 and b"event_id" in response.body


def test_an_alert_opens_an_incident_and_a_reply_acknowledges_it(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    root = alert(clock)
    assert post_event(configured, signed_slack_request, clock, root, "Ev1").status == 200
    clock.advance(timedelta(minutes=4))
    assert post_event(configured, signed_slack_request, clock, reply(clock, root["ts"]), "Ev2").status == 200
    assert event_types(slack) == ["incident_declared", "incident_acknowledged"]
    ack = slack.calls_to("chat.postMessage")[-1].args
    assert ack["thread_ts"] == root["ts"] and ack["metadata"]["event_payload"]["met"] is True


@pytest.mark.parametrize(
    "extra",
    [{"subtype": "message_changed"}, {"subtype": "message_deleted"}, {"bot_id": "B0OTHER"}],
    ids=["edit", "deletion", "bot"],
)
def test_edits_deletions_and_bots_do_not_acknowledge(
    configured: LocalStack,
    signed_slack_request: Signer,
    clock: VirtualClock,
    slack: RecordingSlackApi,
    extra: dict[str, str],
) -> None:
    root = alert(clock)
    post_event(configured, signed_slack_request, clock, root, "Ev1")
    clock.advance(timedelta(minutes=2))
    post_event(configured, signed_slack_request, clock, reply(clock, root["ts"], **extra), "Ev2")
    assert event_types(slack) == ["incident_declared"]


def test_a_reply_that_arrives_before_its_alert_still_acknowledges(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    root = alert(clock)
    clock.advance(timedelta(minutes=1))
    post_event(configured, signed_slack_request, clock, reply(clock, root["ts"]), "Ev2")
    post_event(configured, signed_slack_request, clock, root, "Ev1")
    assert event_types(slack) == ["incident_declared", "incident_acknowledged"]
    payload = slack.calls_to("chat.postMessage")[-1].args["metadata"]["event_payload"]
    assert payload["at"] == to_iso(clock())


def test_messages_elsewhere_are_ignored(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    post_event(configured, signed_slack_request, clock, {**alert(clock), "channel": "C0RANDOM"}, "Ev1")
    assert slack.calls == []


def test_a_slack_server_error_is_retried_and_posted_once(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    slack.fail_next("chat.postMessage", status=500)
    post_event(configured, signed_slack_request, clock, alert(clock), "Ev1")
    attempts = slack.calls_to("chat.postMessage")
    assert [c.ok for c in attempts] == [False, True]


def test_when_slack_stays_down_the_ack_message_is_handed_to_the_outbox_and_posted_once(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    root = alert(clock)
    post_event(configured, signed_slack_request, clock, root, "Ev1")
    clock.advance(timedelta(minutes=2))
    slack.fail_next("chat.postMessage", status=500, times=3)
    first = post_event(configured, signed_slack_request, clock, reply(clock, root["ts"]), "Ev2")
    assert first.status == 200
    assert event_types(slack) == ["incident_declared"]
    assert configured.drain() == 1
    assert event_types(slack) == ["incident_declared", "incident_acknowledged"]


def test_an_unknown_command_says_what_was_expected(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    answer = command(configured, signed_slack_request, clock, "frobnicate")
    assert (
        answer["response_type"] == "ephemeral"
        and "/incident &lt;critical|major|minor&gt; &lt;title&gt;" in answer["text"]
    )


def test_an_unknown_incident_id_is_answered_not_failed(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    answer = command(configured, signed_slack_request, clock, "INC-2026-0042 status Working")
    assert "There is no incident INC-2026-0042" in answer["text"]
    assert state(configured) == []


def test_roster_commands_are_refused_to_non_admins(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    answer = command(configured, signed_slack_request, clock, "pm <@U0EVE>", user="U0EVE", name="/prodsupport")
    assert "Only prodsupport admins" in answer["text"]
    assert state(configured) == []


def test_an_admin_names_the_pm_and_the_backup_owns_email_while_the_pm_is_out(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    from prodsupport import runtime

    for text in ("pm <@U0PAT|pat>", "backup <@U0BEA>", "ooo on"):
        command(configured, signed_slack_request, clock, text, user="U0ADMIN", name="/prodsupport")
        clock.advance(timedelta(seconds=1))
    roster = runtime.current().roster.load()
    assert (roster.pm_user_id, roster.backup_pm_user_id, roster.email_owner) == ("U0PAT", "U0BEA", "U0BEA")


def test_a_declared_incident_is_listed_with_its_clocks(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock
) -> None:
    declared = command(configured, signed_slack_request, clock, "critical Kiosks down")
    assert "Declared *INC-2026-0001*" in declared["text"]
    clock.advance(timedelta(seconds=5))
    listed = command(configured, signed_slack_request, clock, "list")
    assert "INC-2026-0001" in listed["text"] and "stakeholder email: due" in listed["text"]


def test_a_status_update_posted_by_a_person_is_the_slack_ack(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    post_event(configured, signed_slack_request, clock, alert(clock), "Ev1")
    clock.advance(timedelta(minutes=6))
    command(configured, signed_slack_request, clock, "INC-2026-0001 status Looking at the gateway")
    assert event_types(slack) == ["incident_declared", "incident_acknowledged", "incident_updated"]
    assert slack.calls_to("chat.postMessage")[1].args["metadata"]["event_payload"]["at"] == to_iso(clock())


def test_resolving_twice_posts_one_resolution(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    command(configured, signed_slack_request, clock, "major Kiosks slow")
    clock.advance(timedelta(minutes=1))
    command(configured, signed_slack_request, clock, "INC-2026-0001 resolve Restarted the pods")
    clock.advance(timedelta(seconds=1))
    again = command(configured, signed_slack_request, clock, "INC-2026-0001 resolve Restarted the pods")
    assert "already resolved" in again["text"]
    assert event_types(slack).count("incident_resolved") == 1


def test_resolving_again_starts_a_postmortem_a_failed_resolve_left_unstarted(
    configured: LocalStack, signed_slack_request: Signer, clock: VirtualClock, slack: RecordingSlackApi
) -> None:
    from prodsupport import runtime
    from prodsupport.incident.model import Status

    command(configured, signed_slack_request, clock, "critical Kiosks down")
    incident = runtime.current().store.get_by_id("INC-2026-0001")
    assert incident is not None
    runtime.current().store.mutate(
        incident.channel_id, incident.thread_ts, lambda current: setattr(current, "status", Status.RESOLVED)
    )
    clock.advance(timedelta(minutes=1))
    command(configured, signed_slack_request, clock, "INC-2026-0001 resolve Rolled back")
    assert "postmortem_update" in event_types(slack)


@contextmanager
def reads(keys: list[str]) -> Iterator[None]:
    """The partition keys of the GetItems the runtime's DynamoDB client sends while the block runs."""
    client = runtime.current().client("dynamodb")

    def before_build(params: dict[str, Any], **_: Any) -> None:
        keys.append(params["Key"]["pk"]["S"])

    client.meta.events.register("before-parameter-build.dynamodb.GetItem", before_build, unique_id="test-reads")
    try:
        yield
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", unique_id="test-reads")


def test_an_id_this_container_has_seen_is_read_without_its_alias(
    configured: LocalStack, signed_slack_request: Any, clock: VirtualClock
) -> None:
    command(configured, signed_slack_request, clock, "critical Kiosks down")
    keys: list[str] = []

    with reads(keys):
        incident = runtime.current().store.get_by_id("INC-2026-0001")

    assert incident is not None and incident.id == "INC-2026-0001"
    assert keys == [f"THREAD#{incident.channel_id}#{incident.thread_ts}"]


def test_an_id_another_container_declared_is_found_through_its_alias(
    configured: LocalStack, signed_slack_request: Any, clock: VirtualClock
) -> None:
    command(configured, signed_slack_request, clock, "critical Kiosks down")
    rt = runtime.current()
    fresh = IncidentStore(rt.table, rt.policy)
    keys: list[str] = []

    with reads(keys):
        incident = fresh.get_by_id("INC-2026-0001")

    assert incident is not None and incident.id == "INC-2026-0001"
    assert keys[0] == "INC#INC-2026-0001"
