"""Post-mortems in GitHub through the stack: real handlers, moto, the recording Slack and GitHub APIs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from builders import github_headers

from prodsupport import runtime
from prodsupport.incident.model import PostmortemState, Sla
from prodsupport_local.emulator.apigw import HttpResponse
from prodsupport_local.emulator.stack import DEFAULT_SETTINGS, LocalStack, VirtualClock
from prodsupport_local.fakes.recording_github import RecordingGitHubApi
from prodsupport_local.fakes.recording_slack import RecordingSlackApi, SlackCall

REPO = "department-of-veterans-affairs/va.gov-team-sensitive"
BRANCH = "postmortem/inc-2026-0001"
SLUG = "2026-11-25-pre-check-in-fails-at-every"
PATH = f"Postmortems/{SLUG}.md"
INC = "INC-2026-0001"
DECLARED = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
MERGED = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
SECTIONS = (
    "## Summary",
    "## Impact",
    "## Ownership",
    "## Stakeholders",
    "## Action Items",
    "## Root Cause Analysis",
    "## Resolution",
    "## Event Timeline",
    "## Contributors",
)
WEBHOOK_SECRET = "local-github-secret"


@pytest.fixture
def github_stack(stack: LocalStack) -> Iterator[LocalStack]:
    stack.reset({**DEFAULT_SETTINGS, "pm_user_id": "U0PM", "github_repo": REPO, "github_base_branch": "master"})
    yield stack


@pytest.fixture
def github(github_stack: LocalStack) -> RecordingGitHubApi:
    return github_stack.github


@pytest.fixture
def send(
    github_stack: LocalStack, send_slack_form: Callable[..., Callable[..., HttpResponse]]
) -> Callable[..., HttpResponse]:
    return send_slack_form(github_stack, "U0ONCALL")


def reply(response: HttpResponse) -> str:
    assert response.status == 200
    return str(json.loads(response.body)["text"]) if response.body else ""


def declare_and_resolve(send: Callable[..., HttpResponse]) -> None:
    reply(send(DECLARED, text="critical Pre-check-in fails at every clinic"))
    reply(send(RESOLVED, text=f"{INC} resolve Rolled back the release"))


def updates(slack: RecordingSlackApi) -> list[SlackCall]:
    return [c for c in slack.posts() if (c.args.get("metadata") or {}).get("event_type") == "postmortem_update"]


def webhook(
    stack: LocalStack,
    event: str,
    body: dict[str, Any],
    *,
    at: datetime = MERGED,
    secret: str = WEBHOOK_SECRET,
    delivery: str | None = None,
    signature: str | None = None,
) -> HttpResponse:
    raw = json.dumps(body).encode()
    headers = github_headers(raw, event, delivery=delivery, secret=secret)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    assert isinstance(stack.clock, VirtualClock)
    stack.clock.set(at)
    return stack.request("POST", "/github/webhook", headers, raw)


def closed_pull(number: int = 1, *, merged: bool = True, repo: str = REPO) -> dict[str, Any]:
    return {
        "action": "closed",
        "number": number,
        "pull_request": {
            "number": number,
            "merged": merged,
            "head": {"ref": BRANCH},
            "base": {"ref": "master", "repo": {"full_name": repo, "html_url": f"https://github.com/{repo}"}},
        },
        "repository": {"full_name": repo},
        "sender": {"login": "pm-octo"},
    }


def incident_postmortem() -> Any:
    found = runtime.current().store.get_by_id(INC)
    assert found is not None and found.postmortem is not None
    return found


# --- drafting -------------------------------------------------------------------------------------------


def test_given_github_configured_when_a_critical_incident_is_resolved_then_a_branch_file_and_pull_request_exist(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    assert BRANCH in github.branches(REPO)
    assert [(p["number"], p["html_url"], p["base"]["ref"]) for p in github.pulls(REPO)] == [
        (1, f"https://github.com/{REPO}/pull/1", "master")
    ]


def test_given_the_drafted_file_then_it_has_every_section_of_the_va_template_in_order(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    text = github.file(REPO, BRANCH, PATH)
    assert text is not None
    assert text.splitlines()[0] == "# 2026-11-25 - Pre-check-in fails at every clinic"
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)


def test_given_the_pull_request_when_opened_then_its_link_is_posted_in_the_thread_and_recorded(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    [message] = [c for c in updates(slack) if "pull_request" in c.args["metadata"]["event_payload"]]
    assert message.args["metadata"]["event_payload"]["pull_request"] == f"https://github.com/{REPO}/pull/1"
    assert message.args["thread_ts"] == incident_postmortem().thread_ts
    assert incident_postmortem().postmortem.pull_request.number == 1


def test_given_github_not_configured_when_resolved_then_github_is_never_called(
    stack: LocalStack, send_slack_form: Callable[..., Callable[..., HttpResponse]]
) -> None:
    send = send_slack_form(stack, "U0ONCALL")
    declare_and_resolve(send)
    assert stack.github.calls == []


def test_given_a_5xx_after_github_created_the_pull_request_then_exactly_one_pull_request_exists(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    github.fail_next(f"/repos/{REPO}/pulls", method="POST", status=502, carry_out=True)
    declare_and_resolve(send)
    assert len(github.pulls(REPO)) == 1
    assert incident_postmortem().postmortem.pull_request.number == 1


def test_given_a_rate_limit_with_retry_after_then_the_request_is_retried_and_one_branch_made(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    github.fail_next(f"/repos/{REPO}/git/refs", method="POST", retry_after=0, times=2)
    declare_and_resolve(send)
    assert [c.status for c in github.calls_to("POST", f"/repos/{REPO}/git/refs")] == [429, 429, 201]
    assert github.branches(REPO) == ["master", BRANCH]


def test_given_github_down_when_resolved_then_the_thread_says_so_and_a_resolve_seen_again_opens_it_once(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi, slack: RecordingSlackApi
) -> None:
    github.fail_next("/repos/", status=403, times=100)
    declare_and_resolve(send)
    assert github.pulls(REPO) == []
    assert any("did not take the post-mortem pull request" in c.args["text"] for c in updates(slack))
    github.faults.clear()
    from prodsupport.postmortem import flows as postmortem_flow

    rt = runtime.current()
    incident = incident_postmortem()
    postmortem_flow.on_resolved(rt, incident, LATER)
    postmortem_flow.on_resolved(rt, incident_postmortem(), LATER)
    assert len(github.pulls(REPO)) == 1


# --- action items ---------------------------------------------------------------------------------------


def test_given_an_action_item_command_then_a_labelled_issue_is_filed_and_its_row_added_to_the_report(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    answer = reply(send(LATER, text=f"{INC} action Add a pre-check-in probe type detect team Check-In Experience"))
    [issue] = github.issues(REPO)
    assert issue["labels"] == [{"name": "postmortem-action-item"}]
    assert answer == f"A1 filed as <{issue['html_url']}|#{issue['number']}>."
    text = github.file(REPO, BRANCH, PATH)
    assert text is not None
    assert (
        f"| Add a pre-check-in probe | detect | Check-In Experience | [#2]({issue['html_url']}) |" in text.splitlines()
    )


def test_given_the_issue_post_failed_after_github_filed_it_when_run_again_then_one_issue_exists(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    github.fail_next(f"/repos/{REPO}/issues", method="POST", status=502, carry_out=True)
    assert reply(send(LATER, text=f"{INC} action Add a pre-check-in probe")).startswith("A1 filed as")
    assert len(github.issues(REPO)) == 1


def test_given_github_refused_the_issue_when_the_same_item_is_given_again_then_it_is_filed_once_as_the_same_key(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    github.fail_next(f"/repos/{REPO}/issues", method="POST", status=403)
    assert "run the same command again" in reply(send(LATER, text=f"{INC} action Add a pre-check-in probe"))
    assert reply(send(LATER, text=f"{INC} action Add a pre-check-in probe", user="U0PM")).startswith("A1 filed as")
    assert len(github.issues(REPO)) == 1
    assert [item.key for item in incident_postmortem().postmortem.action_items] == ["A1"]


def test_given_an_issue_closed_webhook_then_the_item_is_closed_on_the_timeline_and_in_the_report(
    github_stack: LocalStack, send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    reply(send(LATER, text=f"{INC} action Add a pre-check-in probe"))
    [issue] = github.issues(REPO)
    body = {"action": "closed", "issue": issue, "repository": {"full_name": REPO}, "sender": {"login": "dev"}}
    assert webhook(github_stack, "issues", body).status == 202
    incident = incident_postmortem()
    assert not incident.postmortem.action_items[0].is_open
    assert incident.timeline[-1].kind == "action_item_closed"
    assert "(closed) |" in (github.file(REPO, BRANCH, PATH) or "")


# --- webhooks -------------------------------------------------------------------------------------------


def test_given_the_pull_request_merged_then_the_postmortem_is_shared_and_the_link_broadcast_in_the_channel(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    assert webhook(github_stack, "pull_request", closed_pull()).status == 202
    incident = incident_postmortem()
    assert incident.postmortem.state is PostmortemState.SHARED
    assert incident.deadlines[Sla.POSTMORTEM_SHARED].met_at == MERGED
    [broadcast] = [c for c in slack.posts() if c.args.get("reply_broadcast") in (True, "true", "1")]
    assert incident.postmortem.url == f"https://github.com/{REPO}/blob/master/{PATH}"
    assert incident.postmortem.url in broadcast.args["text"]


def broadcasts(slack: RecordingSlackApi) -> list[SlackCall]:
    return [c for c in slack.posts() if c.args.get("reply_broadcast") in (True, "true", "1")]


def test_given_slack_failing_when_the_merge_is_delivered_and_redelivered_then_the_link_is_broadcast_once(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    slack.fail_next("chat.postMessage", status=500, times=3)
    delivery = str(uuid.uuid4())
    webhook(github_stack, "pull_request", closed_pull(), delivery=delivery)
    webhook(github_stack, "pull_request", closed_pull(), delivery=delivery)  # GitHub's redelivery
    github_stack.drain()
    assert webhook(github_stack, "pull_request", closed_pull()).status == 202  # redelivered by hand, a new id
    assert len(broadcasts(slack)) == 1


def test_given_slack_failing_when_an_issue_closed_is_delivered_and_redelivered_then_the_thread_is_told_once(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi, github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    reply(send(LATER, text=f"{INC} action Add a pre-check-in probe"))
    [issue] = github.issues(REPO)
    body = {"action": "closed", "issue": issue, "repository": {"full_name": REPO}, "sender": {"login": "dev"}}
    slack.fail_next("chat.postMessage", status=500, times=3)
    webhook(github_stack, "issues", body)
    github_stack.drain()
    assert webhook(github_stack, "issues", body).status == 202  # redelivered by hand, a new id
    closed = [c for c in updates(slack) if c.args["metadata"]["event_payload"].get("closed")]
    assert len(closed) == 1


def test_given_the_pull_request_closed_unmerged_then_the_thread_is_told_and_nothing_is_shared(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    assert webhook(github_stack, "pull_request", closed_pull(merged=False)).status == 202
    assert incident_postmortem().postmortem.state is PostmortemState.DRAFTED
    assert "closed without merging" in updates(slack)[-1].args["text"]


@pytest.mark.parametrize(
    ("secret", "signature"),
    [
        ("a-forged-secret", None),
        (WEBHOOK_SECRET, ""),
        (WEBHOOK_SECRET, "sha1=0000"),
        (WEBHOOK_SECRET, "sha256=" + "0" * 64),
    ],
    ids=["wrong-secret", "missing", "sha1", "zeros"],
)
def test_given_a_badly_signed_webhook_then_401_and_nothing_is_written(
    github_stack: LocalStack,
    send: Callable[..., HttpResponse],
    slack: RecordingSlackApi,
    secret: str,
    signature: str | None,
) -> None:
    declare_and_resolve(send)
    posts = len(slack.posts())
    before = runtime.current().table.get(f"INC#{INC}", "ID")
    response = webhook(github_stack, "pull_request", closed_pull(), secret=secret, signature=signature)
    assert response.status == 401
    assert incident_postmortem().postmortem.state is PostmortemState.DRAFTED
    assert len(slack.posts()) == posts
    assert runtime.current().table.get(f"INC#{INC}", "ID") == before


def test_given_a_rotated_secret_list_then_a_webhook_signed_with_either_secret_is_accepted(
    github_stack: LocalStack, send: Callable[..., HttpResponse]
) -> None:
    declare_and_resolve(send)
    rt = runtime.current()
    rt.client("secretsmanager").put_secret_value(
        SecretId="prodsupport/github",
        SecretString=json.dumps({"token": "local-github-token", "webhook_secrets": ["new-secret", WEBHOOK_SECRET]}),
    )
    runtime.reset()
    assert webhook(github_stack, "ping", {"zen": "Keep it logically awesome."}, secret="new-secret").status == 200
    assert webhook(github_stack, "pull_request", closed_pull(merged=False), secret=WEBHOOK_SECRET).status == 202


def test_given_the_same_delivery_twice_then_the_second_has_no_effect(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    delivery = str(uuid.uuid4())
    webhook(github_stack, "pull_request", closed_pull(merged=False), delivery=delivery)
    posts = len(slack.posts())
    response = webhook(github_stack, "pull_request", closed_pull(merged=False), delivery=delivery)
    assert (response.status, json.loads(response.body)) == (200, {"status": "duplicate"})
    assert len(slack.posts()) == posts


def test_given_a_pull_request_the_incident_does_not_record_then_it_is_ignored(
    github_stack: LocalStack, send: Callable[..., HttpResponse]
) -> None:
    declare_and_resolve(send)
    for body in (closed_pull(7), closed_pull(1, repo="someone/else")):
        response = webhook(github_stack, "pull_request", body)
        assert (response.status, json.loads(response.body)) == (202, {"status": "ignored"})
    assert incident_postmortem().postmortem.state is PostmortemState.DRAFTED


def test_given_the_incidents_team_no_longer_configured_then_the_merge_is_ignored_not_handled_as_the_default_team(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    incident = incident_postmortem()
    runtime.current().store.mutate(incident.channel_id, incident.thread_ts, lambda i: setattr(i, "team", "gone"))

    response = webhook(github_stack, "pull_request", closed_pull())

    assert (response.status, json.loads(response.body)) == (202, {"status": "ignored"})
    assert incident_postmortem().postmortem.state is PostmortemState.DRAFTED
    assert broadcasts(slack) == []


def test_given_an_unknown_event_type_then_it_is_answered_2xx_and_ignored(
    github_stack: LocalStack, send: Callable[..., HttpResponse]
) -> None:
    declare_and_resolve(send)
    response = webhook(github_stack, "star", {"action": "created", "sender": {"login": "fan"}})
    assert (response.status, json.loads(response.body)) == (202, {"status": "ignored"})


def test_given_a_signed_body_that_is_not_json_then_400(github_stack: LocalStack) -> None:
    raw = b"not json"
    headers = github_headers(raw, "pull_request", delivery="d-1")
    assert github_stack.request("POST", "/github/webhook", headers, raw).status == 400


# --- open work: the list, the weekly report, the reminder -----------------------------------------------


def test_given_an_open_pull_request_and_action_item_then_incident_list_shows_both(
    send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    reply(send(LATER, text=f"{INC} action Add a pre-check-in probe"))
    listed = reply(send(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), text="list"))
    assert f"*{INC}* pull request <https://github.com/{REPO}/pull/1|#1> not merged yet" in listed
    assert f"*{INC}* A1 <https://github.com/{REPO}/issues/2|#2> Add a pre-check-in probe — open 4 d" in listed


def test_given_the_pull_request_merged_and_the_item_closed_then_the_list_no_longer_shows_them(
    github_stack: LocalStack, send: Callable[..., HttpResponse], github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    reply(send(LATER, text=f"{INC} action Add a pre-check-in probe"))
    [issue] = github.issues(REPO)
    webhook(github_stack, "issues", {"action": "closed", "issue": issue, "repository": {"full_name": REPO}})
    webhook(github_stack, "pull_request", closed_pull())
    assert "Post-mortems in GitHub" not in reply(send(datetime(2026, 12, 5, 15, 0, tzinfo=UTC), text="list"))


def test_given_open_action_items_then_the_weekly_report_gives_their_count_and_oldest_age(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    reply(send(LATER, text=f"{INC} action Add a pre-check-in probe"))
    github_stack.tick(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))  # Monday 9:00 AM EST
    [report] = [c for c in slack.posts() if c.args["metadata"]["event_type"] == "compliance_report"]
    assert report.args["metadata"]["event_payload"]["open_action_items"] == 1
    assert "1 post-mortem action item(s) open in GitHub, the oldest for 9 days." in report.args["text"]


def test_given_an_action_item_older_than_the_reminder_age_then_its_thread_is_reminded_once(
    github_stack: LocalStack, send: Callable[..., HttpResponse], slack: RecordingSlackApi
) -> None:
    declare_and_resolve(send)
    reply(send(LATER, text=f"{INC} action Add a pre-check-in probe"))
    github_stack.tick(datetime(2026, 12, 27, 14, 59, tzinfo=UTC))  # 29 days 23 h 59 min
    github_stack.tick(datetime(2026, 12, 27, 15, 0, tzinfo=UTC))
    github_stack.tick(datetime(2026, 12, 27, 15, 1, tzinfo=UTC))
    reminders = [c for c in slack.posts() if c.args["text"].startswith(":hourglass: Action item A1")]
    assert [(c.args["thread_ts"], c.args["metadata"]["event_payload"]["days"]) for c in reminders] == [
        (incident_postmortem().thread_ts, 30)
    ]


def test_given_the_add_action_item_button_then_its_form_files_the_item_like_the_command(
    send: Callable[..., HttpResponse], slack: RecordingSlackApi, github: RecordingGitHubApi
) -> None:
    declare_and_resolve(send)
    button = {
        "type": "block_actions",
        "user": {"id": "U0PM"},
        "trigger_id": "t-action",
        "channel": {"id": DEFAULT_SETTINGS["channel_id"]},
        "actions": [{"action_id": "incident_postmortem_action", "block_id": "postmortem_github", "value": INC}],
    }
    reply(send(LATER, payload=button))
    [opened] = slack.calls_to("views.open")
    view = dict(opened.args["view"])
    assert view["callback_id"] == "postmortem_action"
    view["state"] = {
        "values": {
            "description": {"value": {"type": "plain_text_input", "value": "Add a pre-check-in probe"}},
            "type": {"value": {"type": "static_select", "selected_option": {"value": "detect"}}},
            "team": {"value": {"type": "plain_text_input", "value": "Check-In Experience"}},
        }
    }
    reply(send(LATER, payload={"type": "view_submission", "user": {"id": "U0PM"}, "view": view}))
    [item] = incident_postmortem().postmortem.action_items
    assert (item.description, item.type, item.team, item.issue_number) == (
        "Add a pre-check-in probe",
        "detect",
        "Check-In Experience",
        2,
    )
    assert len(github.issues(REPO)) == 1


def test_given_github_not_configured_then_the_webhook_route_is_404_and_reads_no_secret(
    stack: LocalStack, send_slack_form: Callable[..., Callable[..., HttpResponse]]
) -> None:
    declare_and_resolve(send_slack_form(stack, "U0ONCALL"))
    stack.aws.client("secretsmanager").delete_secret(SecretId="prodsupport/github", ForceDeleteWithoutRecovery=True)
    runtime.reset()
    assert webhook(stack, "pull_request", closed_pull()).status == 404
    assert stack.failures == []


def test_given_the_postmortem_shared_by_hand_then_its_pull_request_leaves_the_list(
    send: Callable[..., HttpResponse],
) -> None:
    declare_and_resolve(send)
    reply(send(LATER, text=f"{INC} postmortem scheduled 2026-12-01 14:00 t3@va.gov:tier3"))
    reply(send(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), text=f"{INC} postmortem held"))
    reply(send(datetime(2026, 12, 2, 15, 0, tzinfo=UTC), text=f"{INC} postmortem shared https://example.gov/pm"))
    assert "Post-mortems in GitHub" not in reply(send(datetime(2026, 12, 3, 15, 0, tzinfo=UTC), text="list"))
