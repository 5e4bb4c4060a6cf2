"""The SLA checker through the stack: the real handler on its schedule, moto, the recording Slack API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from prodsupport import runtime
from prodsupport.incident.model import Incident, Severity, Sla, Source
from prodsupport_local.cli import main as cli
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_slack import RecordingSlackApi, SlackCall

CHANNEL = DEFAULT_SETTINGS["channel_id"]
SETTINGS = {
    **DEFAULT_SETTINGS,
    "alert_bot_ids": ["B0DATADOG"],
    "oncall_user_id": "U0ONCALL",
    "pm_user_id": "U0PM",
    "backup_pm_user_id": "U0BACKUP",
    "admin_user_ids": ["U0ADMIN"],
}
WEDNESDAY_10_ET = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wed 11/25/2026 10:00 AM EST, business hours
SATURDAY_10_ET = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
EVENTS = Path(__file__).resolve().parents[3] / "events"

Signer = Callable[..., Any]


@pytest.fixture
def configured(stack: LocalStack) -> LocalStack:
    stack.configure(SETTINGS)
    return stack


@pytest.fixture
def alert(configured: LocalStack, clock: VirtualClock, signed_slack_request: Signer) -> Callable[[datetime], str]:
    """An alert integration posts in the channel at `at`; returns the thread ts the incident is keyed by."""
    counter = iter(range(1, 1000))

    def _alert(at: datetime) -> str:
        clock.set(at)
        ts = f"{int(at.timestamp())}.000100"
        body = {
            "type": "event_callback",
            "event_id": f"Ev0ALERT{next(counter)}",
            "event_time": int(at.timestamp()),
            "event": {
                "type": "message",
                "channel": CHANNEL,
                "bot_id": "B0DATADOG",
                "subtype": "bot_message",
                "text": "Triggered: check-in API 5xx rate above 5%",
                "ts": ts,
            },
        }
        request = signed_slack_request(body, at)
        assert configured.request("POST", "/slack/events", request.headers, request.body).status == 200
        return ts

    return _alert


@pytest.fixture
def reply(configured: LocalStack, clock: VirtualClock, signed_slack_request: Signer) -> Callable[[str, datetime], None]:
    def _reply(thread_ts: str, at: datetime) -> None:
        clock.set(at)
        body = {
            "type": "event_callback",
            "event_id": f"Ev0REPLY{int(at.timestamp())}",
            "event_time": int(at.timestamp()),
            "event": {
                "type": "message",
                "channel": CHANNEL,
                "user": "U0ONCALL",
                "text": "Looking into it now",
                "ts": f"{int(at.timestamp())}.000200",
                "thread_ts": thread_ts,
            },
        }
        request = signed_slack_request(body, at)
        assert configured.request("POST", "/slack/events", request.headers, request.body).status == 200

    return _reply


@pytest.fixture
def command(
    configured: LocalStack, clock: VirtualClock, signed_slack_request: Signer
) -> Callable[[datetime, str, str], None]:
    def _command(at: datetime, text: str, user: str = "U0ONCALL") -> None:
        clock.set(at)
        name = "/prodsupport" if text.split(maxsplit=1)[0] in ("pm", "backup", "ooo") else "/incident"
        fields = {"command": name, "text": text, "user_id": user, "channel_id": CHANNEL, "trigger_id": "t"}
        request = signed_slack_request(urlencode(fields), at)
        assert configured.request("POST", "/slack/commands", request.headers, request.body).status == 200

    return _command


@pytest.fixture
def run(configured: LocalStack, clock: VirtualClock) -> Callable[[datetime], Any]:
    """The every-minute schedule fires at `at` (the handler gets EventBridge Scheduler's input)."""

    def _run(at: datetime) -> Any:
        clock.set(at)
        return configured.invoke("SlaCheckerFunction", {"time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "job": "sla"})

    return _run


@pytest.fixture
def quiet_metrics(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The EMF blobs Powertools printed, parsed."""

    def read() -> list[dict[str, Any]]:
        lines = capsys.readouterr().out.splitlines()
        return [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' in line]

    yield read


def sla_posts(slack: RecordingSlackApi, event_type: str | None = None) -> list[SlackCall]:
    kinds = (event_type,) if event_type else ("sla_reminder", "sla_breached")
    return [call for call in slack.posts() if (call.args.get("metadata") or {}).get("event_type") in kinds]


def payload(call: SlackCall) -> dict[str, Any]:
    return dict(call.args["metadata"]["event_payload"])


def stored(thread_ts: str) -> Incident:
    incident = runtime.current().store.get(CHANNEL, thread_ts)
    assert incident is not None
    return incident


def on_due_index(until: datetime) -> list[str]:
    return [incident.id for incident in runtime.current().store.due(until)]


def pagerduty_incident(opened_at: datetime, acked_in_slack_after: timedelta) -> Incident:
    """A PagerDuty-opened incident written through the store, its Slack ack met and its PagerDuty ack not."""
    rt = runtime.current()
    incident = rt.policy.new_incident(
        sequence=rt.store.next_sequence("INC", 2026),
        title="PagerDuty: check-in API down",
        severity=Severity.MAJOR,
        source=Source.PAGERDUTY,
        channel_id=CHANNEL,
        thread_ts=f"{int(opened_at.timestamp())}.000300",
        opened_at=opened_at,
        declared_by="",
        applications=["Check-In Experience"],
        owner="U0PM",
    )
    incident.meet(Sla.SLACK_ACK, opened_at + acked_in_slack_after)
    rt.store.create(incident)
    return incident


# --- reminders and breaches of the ack --------------------------------------------------------------


def test_given_an_unacknowledged_alert_when_five_minutes_are_left_then_the_oncall_is_reminded_in_the_thread(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    thread_ts = alert(WEDNESDAY_10_ET)

    run(WEDNESDAY_10_ET + timedelta(minutes=10))

    [reminder] = sla_posts(slack)
    assert reminder.args["thread_ts"] == thread_ts
    assert payload(reminder) == {
        "incident_id": "INC-2026-0001",
        "sla": "slack_ack",
        "due": "2026-11-25T15:15:00Z",
        "effect_id": "INC-2026-0001/reminder/slack_ack/2026-11-25T15:15:00Z/5",
    }
    assert "<@U0ONCALL>" in reminder.args["text"]


def test_given_an_unacknowledged_alert_when_the_due_minute_comes_then_the_breach_names_the_oncall_and_the_pm(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    alert(WEDNESDAY_10_ET)
    run(WEDNESDAY_10_ET + timedelta(minutes=10))

    run(WEDNESDAY_10_ET + timedelta(minutes=15))

    [breach] = sla_posts(slack, "sla_breached")
    assert payload(breach) == {
        "incident_id": "INC-2026-0001",
        "sla": "slack_ack",
        "due": "2026-11-25T15:15:00Z",
        "effect_id": "INC-2026-0001/breach/slack_ack/2026-11-25T15:15:00Z",
    }
    assert "<@U0ONCALL>" in breach.args["text"]
    assert "cc <@U0PM> (PM)" in breach.args["text"]


def test_given_two_runs_at_the_same_minute_when_a_reminder_is_owed_then_it_is_posted_once(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    alert(WEDNESDAY_10_ET)

    run(WEDNESDAY_10_ET + timedelta(minutes=10))
    run(WEDNESDAY_10_ET + timedelta(minutes=10))

    assert len(sla_posts(slack)) == 1


def test_given_a_checker_that_was_down_when_it_runs_after_the_due_then_only_the_breach_is_posted(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    alert(WEDNESDAY_10_ET)

    run(WEDNESDAY_10_ET + timedelta(minutes=20))

    assert [call.args["metadata"]["event_type"] for call in sla_posts(slack)] == ["sla_breached"]


def test_given_an_ack_in_time_when_the_due_passes_then_nothing_is_posted(
    alert: Callable[[datetime], str],
    reply: Callable[[str, datetime], None],
    run: Callable[[datetime], Any],
    slack: RecordingSlackApi,
) -> None:
    thread_ts = alert(WEDNESDAY_10_ET)
    reply(thread_ts, WEDNESDAY_10_ET + timedelta(minutes=3))

    for minute in (10, 15, 16):
        run(WEDNESDAY_10_ET + timedelta(minutes=minute))

    assert sla_posts(slack) == []


def test_given_an_ack_recorded_by_the_hot_path_when_the_checker_runs_then_the_incident_leaves_the_due_index(
    alert: Callable[[datetime], str], reply: Callable[[str, datetime], None], run: Callable[[datetime], Any]
) -> None:
    thread_ts = alert(WEDNESDAY_10_ET)
    reply(thread_ts, WEDNESDAY_10_ET + timedelta(minutes=3))
    assert on_due_index(WEDNESDAY_10_ET + timedelta(days=1)) == ["INC-2026-0001"]

    run(WEDNESDAY_10_ET + timedelta(minutes=4))

    assert on_due_index(WEDNESDAY_10_ET + timedelta(days=1)) == []


def test_given_an_after_hours_alert_when_15_minutes_pass_then_it_is_not_breached(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    alert(SATURDAY_10_ET)

    run(SATURDAY_10_ET + timedelta(minutes=15))

    assert sla_posts(slack) == []


def test_given_an_after_hours_alert_when_60_minutes_pass_then_it_is_breached(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    alert(SATURDAY_10_ET)

    run(SATURDAY_10_ET + timedelta(minutes=60))

    [breach] = sla_posts(slack)
    assert payload(breach)["due"] == "2026-11-28T16:00:00Z"
    assert "(after-hours window)" in breach.args["text"]


def test_given_a_slack_ack_in_time_and_no_pagerduty_ack_when_the_due_passes_then_the_pagerduty_ack_is_breached(
    configured: LocalStack, run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    pagerduty_incident(WEDNESDAY_10_ET, acked_in_slack_after=timedelta(minutes=2))

    run(WEDNESDAY_10_ET + timedelta(minutes=15))

    assert [(call.args["metadata"]["event_type"], payload(call)["sla"]) for call in sla_posts(slack)] == [
        ("sla_breached", "pagerduty_ack")
    ]


# --- the stakeholder email: the PM, or the backup while the PM is out --------------------------------


def test_given_a_critical_incident_when_four_hours_before_the_email_then_the_pm_is_reminded_in_thread_and_dm(
    command: Callable[..., None], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    command(WEDNESDAY_10_ET, "critical Check-in fails at every clinic")

    run(WEDNESDAY_10_ET + timedelta(hours=20))

    [in_thread, direct] = sla_posts(slack, "sla_reminder")
    [opened] = slack.calls_to("conversations.open")
    assert opened.args["users"] == "U0PM"
    assert direct.args["channel"] == opened.response["channel"]["id"]
    assert payload(direct) == {
        "incident_id": "INC-2026-0001",
        "sla": "stakeholder_email",
        "due": "2026-11-26T15:00:00Z",
    }
    assert payload(in_thread) == {
        **payload(direct),
        "effect_id": "INC-2026-0001/reminder/stakeholder_email/2026-11-26T15:00:00Z/240",
    }
    assert "<@U0PM>" in in_thread.args["text"]


def test_given_the_pm_out_of_office_when_the_email_reminder_is_due_then_the_backup_is_reminded(
    command: Callable[..., None], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    command(WEDNESDAY_10_ET - timedelta(hours=1), "ooo on", user="U0ADMIN")
    command(WEDNESDAY_10_ET, "critical Check-in fails at every clinic")

    run(WEDNESDAY_10_ET + timedelta(hours=20))

    [in_thread, _direct] = sla_posts(slack, "sla_reminder")
    assert "<@U0BACKUP>" in in_thread.args["text"]
    assert [call.args["users"] for call in slack.calls_to("conversations.open")] == ["U0BACKUP"]


def test_given_a_failed_direct_message_when_the_reminder_is_posted_in_the_thread_then_it_is_not_repeated(
    command: Callable[..., None], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    command(WEDNESDAY_10_ET, "critical Check-in fails at every clinic")
    slack.fail_next("conversations.open", error="user_not_found")

    run(WEDNESDAY_10_ET + timedelta(hours=20))
    run(WEDNESDAY_10_ET + timedelta(hours=20, minutes=1))

    assert [call.args["channel"] for call in sla_posts(slack)] == [CHANNEL]


def test_given_the_email_not_sent_when_24_hours_pass_then_the_breach_names_the_pm(
    command: Callable[..., None], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    command(WEDNESDAY_10_ET, "critical Check-in fails at every clinic")

    run(WEDNESDAY_10_ET + timedelta(hours=24))

    [breach] = sla_posts(slack, "sla_breached")
    assert payload(breach)["sla"] == "stakeholder_email"
    assert "<@U0PM>, please send it" in breach.args["text"]


# --- failures -------------------------------------------------------------------------------------------


def test_given_slack_failing_through_every_attempt_when_a_reminder_is_owed_then_the_outbox_posts_it_once(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], configured: LocalStack, slack: RecordingSlackApi
) -> None:
    # GIVEN Slack answers 503 to every attempt of the reminder (and it is not in the thread after any)
    thread_ts = alert(WEDNESDAY_10_ET)
    slack.fail_next("chat.postMessage", status=503, times=3)

    # WHEN the checker runs, and runs again a minute later
    run(WEDNESDAY_10_ET + timedelta(minutes=10))
    assert sla_posts(slack) == []
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].reminded == [5]
    run(WEDNESDAY_10_ET + timedelta(minutes=11))

    # THEN the reminder waits in the outbox, not reposted by the next run, and its consumer posts it once
    assert sla_posts(slack) == []
    assert configured.drain() == 1
    assert len(sla_posts(slack, "sla_reminder")) == 1


def test_given_a_breach_whose_post_failed_when_the_next_run_comes_then_the_breach_is_posted_once(
    alert: Callable[[datetime], str], run: Callable[[datetime], Any], slack: RecordingSlackApi
) -> None:
    thread_ts = alert(WEDNESDAY_10_ET)
    slack.fail_next("chat.postMessage", error="ratelimited")

    run(WEDNESDAY_10_ET + timedelta(minutes=15))
    assert stored(thread_ts).deadlines[Sla.SLACK_ACK].breached_at is None
    run(WEDNESDAY_10_ET + timedelta(minutes=16))
    run(WEDNESDAY_10_ET + timedelta(minutes=17))

    assert len(sla_posts(slack, "sla_breached")) == 1
    assert [e.kind for e in stored(thread_ts).timeline].count("sla_breached") == 1


def test_given_one_incident_whose_post_fails_when_the_checker_runs_then_the_other_is_still_reminded(
    alert: Callable[[datetime], str],
    run: Callable[[datetime], Any],
    slack: RecordingSlackApi,
    quiet_metrics: Callable[[], list[dict[str, Any]]],
) -> None:
    alert(WEDNESDAY_10_ET)
    alert(WEDNESDAY_10_ET - timedelta(seconds=30))
    quiet_metrics()
    slack.fail_next("chat.postMessage", error="channel_not_found")

    result = run(WEDNESDAY_10_ET + timedelta(minutes=10))

    assert (result["reminders"], result["failures"]) == (1, 1)
    assert len(sla_posts(slack)) == 1
    [blob] = quiet_metrics()
    assert blob["SlaIncidentFailures"] == [1.0]


def test_given_a_run_with_a_reminder_and_a_breach_when_it_ends_then_it_reports_counts_and_lag_metrics(
    alert: Callable[[datetime], str],
    run: Callable[[datetime], Any],
    quiet_metrics: Callable[[], list[dict[str, Any]]],
) -> None:
    alert(WEDNESDAY_10_ET)
    alert(WEDNESDAY_10_ET + timedelta(minutes=6))
    quiet_metrics()

    run(WEDNESDAY_10_ET + timedelta(minutes=16))

    [blob] = quiet_metrics()
    assert (blob["SlaRemindersPosted"], blob["SlaBreachesPosted"], blob["SlaIncidentFailures"]) == ([1.0], [1.0], [0.0])
    assert sorted(blob["SlaNoticeLag"]) == [0.0, 60.0]
    assert blob["job"] == "sla"


# --- the handler's events -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("sla_checker_*.json")))
def test_given_each_sample_event_when_the_handler_is_invoked_then_it_runs_its_job(
    configured: LocalStack, name: str
) -> None:
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))

    result = configured.invoke("SlaCheckerFunction", event)

    assert result["job"] == event.get("job", "sla")
    assert result["time"] == event["time"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"job": "sla"}, "the event has no 'time'"),
        ({"time": "2026-11-27 14:05", "job": "sla"}, "is not ISO 8601 with a zone"),
        ({"time": "2026-11-27T14:05:00Z", "job": "cleanup"}, "unknown job 'cleanup'"),
    ],
    ids=["no-time", "naive-time", "unknown-job"],
)
def test_given_a_malformed_schedule_event_when_invoked_then_it_fails_saying_what_was_expected(
    configured: LocalStack, event: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        configured.invoke("SlaCheckerFunction", event)


# --- the compliance report command -----------------------------------------------------------------------


def test_given_last_weeks_incidents_when_the_report_command_runs_then_it_prints_the_same_report_as_json(
    alert: Callable[[datetime], str],
    reply: Callable[[str, datetime], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    reply(alert(WEDNESDAY_10_ET), WEDNESDAY_10_ET + timedelta(minutes=20))
    capsys.readouterr()

    status = cli.main(
        ["report", "--from", "2026-11-23", "--to", "2026-11-30", "--format", "json", "--as-of", "2026-11-30T14:00:00Z"]
    )

    printed = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (printed["from"], printed["to"], printed["incidents"]) == ("2026-11-23T05:00:00Z", "2026-11-30T05:00:00Z", 1)
    assert [(b["incident_id"], b["sla"], b["seconds_late"]) for b in printed["breaches"]] == [
        ("INC-2026-0001", "slack_ack", 300)
    ]


def test_given_a_period_that_ends_before_it_starts_when_the_report_command_runs_then_it_says_so_and_exits_2(
    configured: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["report", "--from", "2026-11-30", "--to", "2026-11-23"])

    assert status == 2
    assert "--to (2026-11-23) must be after --from (2026-11-30)" in capsys.readouterr().err
