"""The post-mortem in GitHub: a branch, the report file and a pull request; action items as issues.

Every create is "look, then create, then look again": a redelivered resolve, a retried command or a 5xx whose
request GitHub did carry out finds what the first attempt made instead of making a second branch, file, pull
request or issue. GitHub's own answer to a duplicate (422: the ref, the file or the pull request exists) is
read the same way. The incident records what was made, and is written before anything is posted in Slack.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from aws_lambda_powertools import Logger

from prodsupport.core.errors import UserError
from prodsupport.core.settings import TeamUnavailable
from prodsupport.github.client import GitHubError, GitHubSession, contents_path
from prodsupport.github.model import ActionItem, ActionType, ClosedIssue, ClosedPullRequest, PullRequest
from prodsupport.incident.model import INCIDENT_ID_RE, Incident, PostmortemState
from prodsupport.infra import metrics
from prodsupport.infra.outbox import deliver
from prodsupport.infra.slack_api import post
from prodsupport.postmortem import github_messages as messages
from prodsupport.postmortem import github_report as report
from prodsupport.postmortem import github_tracking as tracking
from prodsupport.postmortem import model as postmortem
from prodsupport.postmortem.model import ACTOR

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
CREATE_ATTEMPTS = 3
MARKER = "<!-- prodsupport:{incident_id}:{key} -->"
PAGE_SIZE = "100"


def configured(rt: Runtime) -> bool:
    return bool(rt.settings.github_repo)


def _session(rt: Runtime) -> GitHubSession:
    client = rt.github
    if client is None:
        raise UserError("GitHub is not configured for post-mortems (PRODSUPPORT_GITHUB_REPO).")
    return client.session()


def _create_once[T](lookup: Callable[[], T | None], create: Callable[[], T]) -> T:
    """Create what `lookup` does not find; after a duplicate (422) or a failure that may have created it
    (5xx, no answer), look again before trying again."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        found = lookup()
        if found is not None:
            return found
        try:
            return create()
        except GitHubError as error:
            if not (error.unprocessable or error.transient) or attempt == CREATE_ATTEMPTS:
                found = lookup() if error.unprocessable else None
                if found is not None:
                    return found
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


# --- branch, file, pull request -------------------------------------------------------------------------


def _ref(gh: GitHubSession, repo: str, branch: str) -> str | None:
    try:
        answer = gh.get(f"/repos/{repo}/git/ref/heads/{quote(branch)}")
    except GitHubError as error:
        if error.not_found:
            return None
        raise
    return str(answer["object"]["sha"])


def _ensure_branch(gh: GitHubSession, repo: str, branch: str, base: str) -> str:
    def create() -> str:
        base_sha = _ref(gh, repo, base)
        if base_sha is None:
            raise GitHubError(404, f"the base branch {base} does not exist in {repo}")
        answer = gh.post(f"/repos/{repo}/git/refs", {"ref": f"refs/heads/{branch}", "sha": base_sha})
        return str(answer["object"]["sha"])

    return _create_once(lambda: _ref(gh, repo, branch), create)


def _file(gh: GitHubSession, repo: str, path: str, branch: str) -> tuple[str, str] | None:
    """The file's text and blob sha on the branch, or None."""
    try:
        answer = gh.get(contents_path(repo, path), {"ref": branch})
    except GitHubError as error:
        if error.not_found:
            return None
        raise
    text = base64.b64decode(str(answer.get("content") or "")).decode("utf-8")
    return text, str(answer["sha"])


def _ensure_file(gh: GitHubSession, repo: str, path: str, branch: str, content: str, message: str) -> None:
    """Created once; an existing file is left alone, since people may already have edited it."""

    def create() -> str:
        body = {"message": message, "content": _b64(content), "branch": branch}
        answer = gh.put(contents_path(repo, path), body)
        return str(answer["content"]["sha"])

    def lookup() -> str | None:
        found = _file(gh, repo, path, branch)
        return found[1] if found else None

    _create_once(lookup, create)


def _pull(gh: GitHubSession, repo: str, branch: str) -> tuple[int, str] | None:
    owner = repo.split("/", 1)[0]
    answer = gh.get(f"/repos/{repo}/pulls", {"head": f"{owner}:{branch}", "state": "all"})
    for pull in answer or []:
        return int(pull["number"]), str(pull["html_url"])
    return None


def open_pull_request(rt: Runtime, incident: Incident, *, thread_link: str) -> PullRequest:
    """The branch, the report file on it and the pull request: each found if it exists, else created."""
    settings = rt.settings
    zone = rt.zone
    repo, base = settings.github_repo, settings.github_base_branch
    branch = report.branch(incident)
    path = f"{settings.github_postmortem_path.strip('/')}/{report.filename(incident, zone)}".lstrip("/")
    items = incident.postmortem.action_items if incident.postmortem else []
    content = report.render(
        incident, zone, thread_link=thread_link, team=settings.team_name, product_owner=_pm(rt), items=items
    )
    gh = _session(rt)
    _ensure_branch(gh, repo, branch, base)
    _ensure_file(gh, repo, path, branch, content, f"Post-mortem draft for {incident.id}")

    def create() -> tuple[int, str]:
        body = {
            "title": f"Post-mortem: {report.title(incident, zone)}",
            "head": branch,
            "base": base,
            "body": messages.pull_request_body(incident, thread_link),
        }
        answer = gh.post(f"/repos/{repo}/pulls", body)
        return int(answer["number"]), str(answer["html_url"])

    number, url = _create_once(lambda: _pull(gh, repo, branch), create)
    return PullRequest(repo=repo, number=number, url=url, branch=branch, path=path)


def _pm(rt: Runtime) -> str:
    """The product owner the report names: the PM on the roster today."""
    return rt.roster.load().pm_user_id


def publish(rt: Runtime, incident: Incident, at: datetime, *, thread_link: str) -> Incident:
    """After the draft: the pull request, recorded on the incident and linked in the thread (once)."""
    if incident.postmortem is None or incident.postmortem.pull_request is not None:
        return incident
    try:
        pull = open_pull_request(rt, incident, thread_link=thread_link)
    except GitHubError:
        logger.exception("could not open the post-mortem pull request", incident_id=incident.id)
        post(rt.slack, messages.pull_request_failed(incident))
        return incident

    def change(current: Incident) -> bool:
        if current.postmortem is None or current.postmortem.pull_request is not None:
            return False
        current.postmortem.pull_request = pull
        current.note(at, "postmortem_pull_request", ACTOR, pull.url)
        return True

    saved, recorded = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    if recorded:
        tracking.record_pull(rt.table, saved, pull)
        post(rt.slack, messages.pull_request_opened(saved))
    return saved


# --- action items ---------------------------------------------------------------------------------------


def _issue(gh: GitHubSession, repo: str, label: str, marker: str) -> tuple[int, str] | None:
    answer = gh.get(f"/repos/{repo}/issues", {"labels": label, "state": "all", "per_page": PAGE_SIZE})
    for issue in answer or []:
        if "pull_request" not in issue and marker in str(issue.get("body") or ""):
            return int(issue["number"]), str(issue["html_url"])
    return None


def file_issue(rt: Runtime, incident: Incident, item: ActionItem) -> tuple[int, str]:
    settings = rt.settings
    assert incident.postmortem is not None and incident.postmortem.pull_request is not None
    marker = MARKER.format(incident_id=incident.id, key=item.key)
    gh = _session(rt)

    def create() -> tuple[int, str]:
        body = {
            "title": f"{incident.id} action item: {messages.no_mention(item.description)}"[:256],
            "body": messages.issue_body(incident, item, marker),
            "labels": [settings.github_action_label],
        }
        answer = gh.post(f"/repos/{settings.github_repo}/issues", body)
        return int(answer["number"]), str(answer["html_url"])

    return _create_once(lambda: _issue(gh, settings.github_repo, settings.github_action_label, marker), create)


def update_report(rt: Runtime, incident: Incident) -> bool:
    """Rewrite the Action Items table on the pull request's branch; False when the branch is gone (merged)."""
    assert incident.postmortem is not None and incident.postmortem.pull_request is not None
    pull = incident.postmortem.pull_request
    gh = _session(rt)
    for _attempt in range(CREATE_ATTEMPTS):
        found = _file(gh, pull.repo, pull.path, pull.branch)
        if found is None:
            return False
        text, sha = found
        updated = report.with_action_items(text, incident.id, incident.postmortem.action_items)
        if updated == text:
            return True
        body = {
            "message": f"Action items of {incident.id}",
            "content": _b64(updated),
            "sha": sha,
            "branch": pull.branch,
        }
        try:
            gh.put(contents_path(pull.repo, pull.path), body)
        except GitHubError as error:
            if error.status in (409, 422):  # someone pushed in between: read their version and apply again
                continue
            raise
        return True
    return False


def add_action_item(
    rt: Runtime,
    incident: Incident,
    description: str,
    kind: ActionType | None,
    team: str,
    user: str,
    at: datetime,
    *,
    thread_link: str,
) -> str:
    """`/incident <id> action …`: recorded (A1, A2, …), filed as a labelled issue, added to the report's table.

    The same description again, while its issue is not filed yet, reuses the recorded item: a retry after
    GitHub failed files the issue once rather than adding a second row.
    """
    if not configured(rt):
        raise UserError("Action items are filed in GitHub, and GitHub is not configured (PRODSUPPORT_GITHUB_REPO).")
    if incident.postmortem is None:
        raise UserError(f"{incident.id} has no post-mortem; action items belong to one.")
    incident = publish(rt, incident, at, thread_link=thread_link)
    if incident.postmortem is None or incident.postmortem.pull_request is None:
        raise UserError("GitHub did not answer, so the post-mortem has no pull request yet; try again shortly.")

    def reserve(current: Incident) -> str:
        assert current.postmortem is not None
        for existing in current.postmortem.action_items:
            if existing.description == description and not existing.issue_number:
                return existing.key
        key = f"A{len(current.postmortem.action_items) + 1}"
        item = ActionItem(key=key, description=description, filed_by=user, filed_at=at, type=kind, team=team)
        current.postmortem.action_items.append(item)
        current.note(at, "action_item", user, f"{key}: {description}")
        return key

    saved, key = rt.store.mutate(incident.channel_id, incident.thread_ts, reserve)
    item = _item(saved, key)
    try:
        number, url = file_issue(rt, saved, item)
    except GitHubError:
        logger.exception("could not file the action item's issue", incident_id=incident.id, key=key)
        raise UserError(
            f"{key} is recorded, but GitHub did not take its issue; run the same command again to file it."
        ) from None

    def record(current: Incident) -> None:
        found = _item(current, key)
        found.issue_number, found.issue_url = number, url

    saved, _ = rt.store.mutate(incident.channel_id, incident.thread_ts, record)
    item = _item(saved, key)
    tracking.record_item(rt.table, saved, item)
    try:
        in_report = update_report(rt, saved)
    except GitHubError:
        logger.exception("could not add the action item to the report", incident_id=incident.id, key=key)
        in_report = False
    post(rt.slack, messages.action_item_filed(saved, item, user, in_report=in_report))
    return f"{key} filed as <{url}|#{number}>."


def _item(incident: Incident, key: str) -> ActionItem:
    assert incident.postmortem is not None
    return next(item for item in incident.postmortem.action_items if item.key == key)


# --- webhooks -------------------------------------------------------------------------------------------


def on_pull_request_closed(rt: Runtime, pull: ClosedPullRequest, at: datetime) -> bool:
    """Merged: the post-mortem is shared (its checkpoint met, the link in the channel). Closed: said in the
    thread. A pull request the incident does not record (another repository, an older one) changes nothing."""
    incident = _incident_for_branch(rt, pull.head)
    record = incident.postmortem.pull_request if incident and incident.postmortem else None
    if incident is None or record is None:
        return False
    team = _team_of(rt, incident)
    if team is None or not _is_recorded(team, record, pull):
        return False
    rt = team
    if not pull.merged:
        post(rt.slack, messages.pull_request_closed(incident, pull.sender))
        return True
    base_url = pull.repo_url or f"https://github.com/{record.repo}"
    url = f"{base_url}/blob/{quote(pull.base or rt.settings.github_base_branch)}/{quote(record.path)}"

    def change(current: Incident) -> bool:
        if current.postmortem is None or current.postmortem.state is PostmortemState.SHARED:
            return False
        postmortem.share(current, url, f"github:{pull.sender}", at, require_held=False)
        return True

    saved, shared = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
    if not shared and (saved.postmortem is None or saved.postmortem.url != url):
        return False  # shared by hand meanwhile: this merge has nothing to say
    # Shared by this merge already: a redelivery, after a first handling that failed past the write,
    # finishes what it left undone, and finds the post in the thread if it was made.
    tracking.forget_pull(rt.table, saved.id)
    deliver(rt, messages.shared_by_merge(saved, pull.sender, rt.zone), look_first=not shared)
    return True


def _incident_for_branch(rt: Runtime, branch: str) -> Incident | None:
    incident_id = branch.removeprefix(report.BRANCH_PREFIX).upper()
    if not branch.startswith(report.BRANCH_PREFIX) or not INCIDENT_ID_RE.match(incident_id):
        return None
    return rt.store.get_by_id(incident_id)


def _team_of(rt: Runtime, incident: Incident) -> Runtime | None:
    """A webhook is the incident's team's business: its repository, its zone, its channel's messages. None
    when that team cannot be served: another team's view would judge it by the wrong repository and save it
    with the wrong calendar, so it is logged, counted (alarmed) and skipped."""
    try:
        return rt.for_team(incident.team)
    except TeamUnavailable as exc:
        logger.error("a GitHub event of a team that cannot be served", incident_id=incident.id, error=str(exc))
        metrics.count("TeamConfigErrors")
        return None


def _is_recorded(rt: Runtime, record: PullRequest, pull: ClosedPullRequest) -> bool:
    configured_repo = rt.settings.github_repo.lower()
    return pull.repo.lower() == configured_repo == record.repo.lower() and pull.number == record.number


def on_issue_closed(rt: Runtime, issue: ClosedIssue, at: datetime) -> bool:
    """An action item's issue closed: on the timeline, in the thread and in the report's table."""
    root = rt
    for incident_id, key in messages.markers(issue.body):
        incident = root.store.get_by_id(incident_id)
        if incident is None or incident.postmortem is None:
            continue
        team = _team_of(root, incident)
        if team is None or issue.repo.lower() != team.settings.github_repo.lower():
            continue
        rt = team
        items = incident.postmortem.action_items
        if not any(item.key == key and item.issue_number == issue.number for item in items):
            continue

        def change(current: Incident, key: str = key) -> bool:
            item = _item(current, key)
            if not item.is_open:
                return False
            item.closed_at = at
            current.note(at, "action_item_closed", f"github:{issue.sender}", f"{key}: #{issue.number} closed")
            return True

        # Closed already: a redelivery finishes what a first handling that failed past the write left undone,
        # and finds its post in the thread if it was made.
        saved, closed = rt.store.mutate(incident.channel_id, incident.thread_ts, change)
        tracking.forget_item(rt.table, incident_id, key)
        try:
            update_report(rt, saved)
        except GitHubError:
            logger.exception("could not mark the action item closed in the report", incident_id=incident_id)
        deliver(rt, messages.action_item_closed(saved, _item(saved, key), issue.sender), look_first=not closed)
        return True
    return False


def remind_action_items(rt: Runtime, now: datetime) -> int:
    """Each open action item older than its team's `action_item_reminder_days` is recalled in its thread, once
    (the items of every team are in one partition; each is its channel's team's)."""
    _, items = tracking.open_entries(rt.table)
    reminded = 0
    for item in items:
        try:
            team = rt.for_channel(item.channel_id) or rt
            age = timedelta(days=team.settings.action_item_reminder_days)
            if item.reminded or item.age(now) < age:
                continue
            if tracking.claim_reminder(rt.table, item, now):
                post(team.slack, messages.action_item_reminder(item, now))
                reminded += 1
        except Exception:  # one item's failure must not keep the others from their reminder
            logger.exception("action item reminder failed", incident_id=item.incident_id, key=item.key)
    return reminded


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
