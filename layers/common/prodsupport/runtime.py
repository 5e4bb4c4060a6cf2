"""What a handler needs, built lazily on first use and cached for the life of the Lambda container.

Nothing here runs at import time: clients are created after the test's (or replay's) emulated AWS is up,
and each path pays only for the clients it touches. The replay tool and the tests swap the clock and
drop the cache between runs; production never does.

A deployment of several teams (`settings.teams`) gives each team a view of the runtime (`for_team`,
`for_channel`, `for_service`): the same clients, table and caches, with the team's settings, calendar and
policy, roster and id prefix. The runtime itself is the default team's view. Domain code takes whichever view
its edge chose and reads `rt.settings` as it always did.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger

from prodsupport.core.clock import Clock, system_clock
from prodsupport.core.settings import (
    DEFAULT_ID_PREFIX,
    DEFAULT_TEAM_ID,
    Settings,
    SettingsError,
    Team,
    TeamUnavailable,
)
from prodsupport.incident.painting import PAINT_WINDOW, PaintLease
from prodsupport.infra import ahead
from prodsupport.infra.blocks import MAX_SELECT_OPTIONS
from prodsupport.infra.budget import Budget
from prodsupport.partner.model import PartnerDirectory

if TYPE_CHECKING:
    from concurrent.futures import Future
    from ssl import SSLContext

    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from slack_sdk import WebClient

    from prodsupport.github.client import GitHubClient
    from prodsupport.incident.model import Incident
    from prodsupport.incident.policy import SlaPolicy
    from prodsupport.incident.store import IncidentStore
    from prodsupport.infra.channel_members import ChannelMembers
    from prodsupport.infra.dedupe import Deduplicator
    from prodsupport.infra.dynamo import Table
    from prodsupport.roster.store import RosterStore


logger = Logger(child=True)


class ChangedCard(NamedTuple):
    """An incident this invocation changed, as last saved, and what its card update must respect."""

    incident: Incident
    saved_at: float  # time.monotonic() at its last save: the direct paint must land within PAINT_WINDOW of it
    # Set when a save replaced another invocation's lease that was still running: its older card update may
    # still land, so a repaint is owed once it is over (incident/painting.py).
    repaint_after: datetime | None = None


class TeamJobsFailed(RuntimeError):
    """A scheduled job failed for some teams after every team was given its turn."""


def _partner_directory(settings: Settings) -> PartnerDirectory:
    """Checked at cold start, where one bad entry would otherwise fail every request of every function: it is
    logged and counted (`PartnerDirectoryInvalid`, docs/runbook.md) and only the partner commands answer with it."""
    try:
        directory = PartnerDirectory.parse(settings.partners)
    except SettingsError as bad:
        from prodsupport.infra import metrics

        logger.error("the partner directory is invalid: no partner can be tagged", error=str(bad))
        metrics.count("PartnerDirectoryInvalid")
        return PartnerDirectory(error=str(bad))
    if len(directory.partners) > MAX_SELECT_OPTIONS:  # the card's select drops the rest: said once per container
        left_out = directory.names[MAX_SELECT_OPTIONS:]
        logger.warning("the card's partner select holds 100 options: tag the others by command", left_out=left_out)
    return directory


class Runtime:
    def __init__(
        self, settings: Settings, clock: Clock, *, team: Team | None = None, root: Runtime | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.team = team
        self._root = root
        self.budget: Budget = root.budget if root is not None else Budget()
        self._views: dict[str, Runtime] = {}
        self.changed: dict[tuple[str, str], ChangedCard] = {}
        # Whose paint lease a save records; renewed by `begin` for each invocation (never captured by SnapStart).
        self.invocation_id = uuid.uuid4().hex
        self._leased_at = time.monotonic()  # when the last lease was taken, on the budget's clock
        # Checked at cold start (a team's, when its view is first made: see `for_team`); a bad directory is
        # logged and counted, and only the partner commands answer with it.
        self.partners = _partner_directory(settings)
        # Work started ahead (infra/ahead.py), taken where it is used.
        self._tls_ahead: Future[SSLContext] | None = None
        self._slack_ahead: Future[WebClient] | None = None

    # --- teams ----------------------------------------------------------------------------------------------

    @property
    def root(self) -> Runtime:
        """The default team's view, which holds the deployment's settings (every team) and the shared clients."""
        return self._root or self

    @property
    def team_id(self) -> str:
        return self.team.id if self.team is not None else DEFAULT_TEAM_ID

    @property
    def id_prefix(self) -> str:
        """`INC` for the default team, so a deployment's existing ids continue; each other team its own."""
        return self.team.id_prefix if self.team is not None else DEFAULT_ID_PREFIX

    @property
    def several_teams(self) -> bool:
        return bool(self.root.settings.teams)

    def for_team(self, team_id: str) -> Runtime:
        """The view of a team by id; "" (an item from before teams) is the default team's."""
        root = self.root
        if team_id in ("", DEFAULT_TEAM_ID):
            return root
        view = root._views.get(team_id)
        if view is None:
            team = root.settings.team_by_id.get(team_id)
            if team is None:
                raise TeamUnavailable(f"team {team_id!r} is not configured in this deployment")
            if team.error:
                raise TeamUnavailable(f"team {team_id!r} has a bad configuration: {team.error}")
            view = root._views[team_id] = Runtime(team.settings, root.clock, team=team, root=root)
        return view

    def for_channel(self, channel_id: str) -> Runtime | None:
        """The view of the team that owns a channel (its `channel_id` or a `command_channel_ids`); None when
        several teams share this deployment and none owns it. A single team owns every channel, as before."""
        for team in self.root.settings.teams:
            if channel_id in (team.settings.channel_id, *team.settings.command_channel_ids):
                return self.for_team(team.id)
        root = self.root
        if not root.several_teams or channel_id in (root.settings.channel_id, *root.settings.command_channel_ids):
            return root
        return None

    def for_service(self, service_id: str) -> Runtime | None:
        """The view of the team whose PagerDuty service this is. A single team takes every service, its own
        `pagerduty_service_ids` then deciding, as before teams. With several teams, a service no team lists,
        the default team's explicit list included, is nobody's (None): "every service" would open another
        team's unlisted services in the default team's channel."""
        for team in self.root.settings.teams:
            if service_id and service_id in team.settings.pagerduty_service_ids:
                return self.for_team(team.id)
        root = self.root
        if not root.several_teams or (service_id and service_id in root.settings.pagerduty_service_ids):
            return root
        return None

    def all_teams(self) -> list[tuple[str, Runtime | TeamUnavailable]]:
        """Every team's view for a scheduled job, the default team first; a team that cannot be served is
        given as its error, for the job to log and count while the other teams go on."""
        views: list[tuple[str, Runtime | TeamUnavailable]] = [(DEFAULT_TEAM_ID, self.root)]
        for team in self.root.settings.teams:
            try:
                views.append((team.id, self.for_team(team.id)))
            except TeamUnavailable as exc:
                views.append((team.id, exc))
        return views

    def each_team(self, job: str, run: Callable[[Runtime], None]) -> None:
        """A scheduled job, once per team, the default team first, each in its own try/except (Dispatch's
        scheduled jobs): a team that fails, or cannot be served, is logged and the next one still runs. Then
        the run fails if any team did, so the scheduler retries it; the teams already served are not served
        twice, since every such job is claimed once per period and team. A single-team deployment runs it as
        before teams: its error is the run's."""
        if not self.several_teams:
            run(self.root)
            return
        from prodsupport.infra import metrics

        failed: list[str] = []
        for team_id, view in self.all_teams():
            try:
                if isinstance(view, TeamUnavailable):
                    metrics.count("TeamConfigErrors")  # alarmed, as the checker's own count
                    raise view
                run(view)
            except Exception as exc:
                logger.exception("a scheduled job failed for one team", job=job, team=team_id)
                failed.append(f"{team_id} ({exc})")
        if failed:
            raise TeamJobsFailed(f"{job} failed for team(s) {', '.join(failed)}")

    # --- shared clients --------------------------------------------------------------------------------------

    def begin(self, remaining_millis: int) -> Runtime:
        """Start this invocation's time budget from Lambda's `get_remaining_time_in_millis()`."""
        self.budget.start(remaining_millis)
        root = self.root
        root.changed.clear()
        root.invocation_id = uuid.uuid4().hex
        root._drop_ahead()
        return self

    def _drop_ahead(self) -> None:
        """Work ahead belongs to the invocation that started it (infra/ahead.py); the TLS context, local work
        that needs no input, is kept for whoever takes it."""
        for view in (self, *self._views.values()):
            if view._slack_ahead is not None:
                ahead.drop(view._slack_ahead)
                view._slack_ahead = None
            roster = view.__dict__.get("roster")
            if roster is not None:
                roster.drop_ahead()

    @contextmanager
    def invocation(self, remaining_millis: int) -> Iterator[Runtime]:
        """One Lambda invocation: its time budget starts now, and the cards of the incidents it changed are
        painted last, once its changes are saved, whether it answered or raised."""
        self.begin(remaining_millis)
        try:
            yield self
        finally:
            self.refresh_cards()

    def _incident_saved(self, incident: Incident, replaced: PaintLease | None) -> None:
        """Keep the last saved state of each incident this invocation changed (a copy: callers go on using
        theirs), so its card is painted once however many writes the change took. Kept by the root, whichever
        team's view saved it: the handler's last step paints them all, each with its team's view."""
        root = self.root
        key = (incident.channel_id, incident.thread_ts)
        earlier = root.changed.get(key)
        repaint_after = earlier.repaint_after if earlier is not None else None
        if replaced is not None and replaced.holds_against(root.invocation_id, self.clock()):
            repaint_after = max(replaced.until, repaint_after or replaced.until)
        root.changed[key] = ChangedCard(copy.deepcopy(incident), root._leased_at, repaint_after)

    def _paint_lease(self) -> PaintLease:
        """The lease a save records; its window is counted from now, before the write, on both clocks: the write's
        own time (retries, a re-read) comes out of the paint's window, never adds to it."""
        root = self.root
        root._leased_at = time.monotonic()
        return PaintLease(root.invocation_id, self.clock() + PAINT_WINDOW)

    def refresh_cards(self) -> None:
        """Paint the card of every incident changed since `begin`: each handler's last step, after its
        changes are saved. An invocation that changed nothing loads nothing for it."""
        root = self.root
        if not root.changed:
            return
        from prodsupport.incident.card_updates import refresh

        changed, root.changed = list(root.changed.values()), {}
        refresh(root, changed)

    def client(self, service: str) -> Any:
        return _boto3_client(service)

    def before_effect(self) -> None:
        """Make the delivery's pending claim (infra/dedupe.py) before an effect outside the table."""
        table = self.root.__dict__.get("table")  # none built: nothing can be pending
        if table is not None:
            table.settle()

    @cached_property
    def _secrets(self) -> SecretsProvider:
        """botocore logs every response body at DEBUG, and a GetSecretValue body is the secret: its parser's
        logger stays above DEBUG, so a DEBUG application log level never writes a secret to the logs."""
        if self._root is not None:
            return self._root._secrets
        import logging

        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        logging.getLogger("botocore.parsers").setLevel(logging.INFO)
        return SecretsProvider(boto3_client=self.client("secretsmanager"))

    def secret(self, name: str) -> dict[str, Any]:
        """A JSON secret from Secrets Manager through Powertools, cached for `secrets_max_age_seconds`."""
        value = self._secrets.get(name, transform="json", max_age=self.settings.secrets_max_age_seconds)
        if not isinstance(value, dict):
            raise ValueError(f"secret {name} must hold a JSON object")
        return value

    @cached_property
    def table(self) -> Table:
        if self._root is not None:
            return self._root.table
        from prodsupport.infra.dynamo import Table

        return Table(self.client("dynamodb"), self.settings.table_name)

    @cached_property
    def policy(self) -> SlaPolicy:
        from prodsupport.core.calendar import CalendarConfig, PlaybookCalendar
        from prodsupport.incident.model import Severity
        from prodsupport.incident.policy import SlaPolicy

        s = self.settings
        calendar = PlaybookCalendar(
            CalendarConfig(
                timezone=s.timezone,
                day_start=s.business_day_start,
                day_end=s.business_day_end,
                extra_holidays=frozenset(s.extra_holidays),
                holiday_calendar=s.holiday_calendar,
            )
        )
        return SlaPolicy(
            calendar=calendar,
            ack_business=s.ack_business,
            ack_after_hours=s.ack_after_hours,
            email_within=timedelta(hours=s.email_hours),
            email_severities=frozenset(Severity(name) for name in s.email_severities),
            ack_reminder_leads=s.ack_reminder_minutes,
            email_reminder_leads=s.email_reminder_minutes,
            status_reminder_leads=s.status_reminder_minutes,
            postmortem_reminder_leads=s.postmortem_reminder_minutes,
            postmortem_schedule_business_days=s.postmortem_schedule_business_days,
            postmortem_share_business_days=s.postmortem_share_business_days,
        )

    @property
    def zone(self) -> ZoneInfo:
        """The zone people read times in (`settings.timezone`): the calendar's, so a message never shows a
        deadline in another zone than the one it was computed in."""
        return self.policy.calendar.zone

    @cached_property
    def store(self) -> IncidentStore:
        from prodsupport.incident.store import IncidentStore

        return IncidentStore(self.table, self.policy, on_saved=self._incident_saved, lease=self._paint_lease)

    @cached_property
    def dedupe(self) -> Deduplicator:
        if self._root is not None:
            return self._root.dedupe
        from prodsupport.infra.dedupe import Deduplicator

        return Deduplicator(self.table, timedelta(hours=self.settings.dedupe_ttl_hours))

    @cached_property
    def roster(self) -> RosterStore:
        from prodsupport.roster.store import RosterStore

        return RosterStore(self.table, self.settings, self.team_id)

    @cached_property
    def channel_members(self) -> ChannelMembers:
        if self._root is not None:
            return self._root.channel_members
        from prodsupport.infra.channel_members import ChannelMembers

        return ChannelMembers(self)

    @property
    def slack_secret(self) -> dict[str, Any]:
        """Read through Powertools' cache on every use, so a rotated signing secret is picked up within
        `secrets_max_age_seconds` instead of at the next cold start."""
        return self.secret(self.settings.slack_secret_name)

    @cached_property
    def tls(self) -> SSLContext:
        """The TLS context of every Slack call, one per container. Making it reads the system's CA bundle (about
        17 ms of a cold start, docs/performance.md), which `tls_ahead` starts in the background."""
        if self._root is not None:
            return self._root.tls
        started, self._tls_ahead = self._tls_ahead, None
        if started is not None:
            return started.result()
        return _tls_context()

    def tls_ahead(self) -> None:
        """Start making the TLS context, for a delivery that may post: it needs no input and makes no request
        (so it starts before the signature is checked), and reading the CA bundle releases the GIL, so it
        overlaps whatever the delivery does first."""
        root = self.root
        if "tls" in root.__dict__ or root._tls_ahead is not None:
            return
        root._tls_ahead = ahead.start(_tls_context)

    @cached_property
    def slack(self) -> WebClient:
        """The client `slack_ahead` started, when it did in this invocation: its error is raised here, as the
        delivery's own."""
        started, self._slack_ahead = self._slack_ahead, None
        if started is not None:
            return started.result()
        return self._make_slack()

    def slack_ahead(self) -> None:
        """Start making the Slack client (its secret and its TLS context) for a delivery whose claim is made and
        that will post after its next writes: the client is ready when the post is."""
        if "slack" in self.__dict__ or self._slack_ahead is not None:
            return
        self._secrets  # noqa: B018 - its client is made here, in the caller's thread (infra/ahead.py)
        self.tls_ahead()
        self._slack_ahead = ahead.start(self._make_slack)

    def _make_slack(self) -> WebClient:
        from prodsupport.infra.slack_api import make_client

        return make_client(
            token=str(self.slack_secret["bot_token"]),
            base_url=self.settings.slack_api_url,
            backoff_seconds=self.settings.slack_retry_backoff_seconds,
            budget=self.budget,
            team=self.team_id if self.several_teams else None,
            before_effect=self.before_effect,
            tls=self.tls,
        )

    @property
    def github_secret(self) -> dict[str, Any]:
        """`{"token", "webhook_secrets": [...]}`, read through the cache like the Slack secret, for rotation."""
        return self.secret(self.settings.github_secret_name)

    @cached_property
    def github(self) -> GitHubClient | None:
        """None when no repository is configured: post-mortems then stay drafts in Slack, as before."""
        if not self.settings.github_repo:
            return None
        if self._root is not None and self._root.github is not None:
            return self._root.github
        from prodsupport.github.client import GitHubClient

        return GitHubClient(
            token=str(self.github_secret["token"]),
            api_url=self.settings.github_api_url,
            budget_seconds=self.settings.github_retry_budget_seconds,
            before_write=self.before_effect,
        )


def _tls_context() -> SSLContext:
    """What urllib's default opener makes for HTTP/1.1, made by the runtime so that a cold start can make it ahead
    (Runtime.tls_ahead)."""
    import ssl

    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    if context.post_handshake_auth is not None:
        context.post_handshake_auth = True
    return context


_boto3_clients: dict[str, Any] = {}
EFFECT_SERVICES = frozenset({"sqs", "sesv2"})
CLIENT_CONFIG: dict[str, dict[str, Any]] = {
    # One attempt, bounded: a send whose answer was lost must not be repeated by botocore behind the email
    # sender's at-most-once decision, and a slow SES must not hold a delivery past the function's timeout.
    "sesv2": {"retries": {"total_max_attempts": 1}, "connect_timeout": 5, "read_timeout": 10},
}


def _boto3_client(service: str) -> Any:
    client = _boto3_clients.get(service)
    if client is None:
        import boto3
        from botocore.config import Config

        options = CLIENT_CONFIG.get(service)
        config = Config(**options) if options else None
        client = _boto3_clients[service] = boto3.client(service, config=config)
        if service in EFFECT_SERVICES:  # a queued message or an email is an effect: a delivery's claim goes first
            client.meta.events.register("before-call", _before_aws_effect)
    return client


def _before_aws_effect(**_: Any) -> None:
    """The container's runtime, like the clients, is the current one: `reset` drops both together."""
    if _runtime is not None:
        _runtime.before_effect()


_runtime: Runtime | None = None
_clock: Clock = system_clock


def current() -> Runtime:
    global _runtime  # noqa: PLW0603 - the per-container cache is the point
    if _runtime is None:
        _runtime = Runtime(Settings.from_env(lenient_teams=True), _clock)
    return _runtime


def use_clock(clock: Clock) -> None:
    """Replace the wall clock (replay, tests); takes effect for the next runtime built."""
    global _clock  # noqa: PLW0603
    _clock = clock
    reset()


def reset() -> None:
    """Forget settings, clients and cached secrets, so the next call reads the environment again."""
    global _runtime  # noqa: PLW0603
    if _runtime is not None:
        _runtime._drop_ahead()
    _runtime = None
    _boto3_clients.clear()
