"""One typed settings object, read from `PRODSUPPORT_*` environment variables at cold start.

A bad value fails the cold start with a message naming the variable, instead of failing an incident
later. Secrets are never settings: only the names of the Secrets Manager secrets that hold them are.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Callable, Mapping
from copy import replace
from datetime import date, time, timedelta
from typing import Any, NamedTuple, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prodsupport.core.calendar import HOLIDAY_CALENDARS

PREFIX = "PRODSUPPORT_"
GITHUB_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable (or the team's field)."""


class TeamUnavailable(LookupError):
    """An item or a request of a team this deployment cannot serve: a team no longer configured, or one whose
    configuration did not validate (the message says which and why)."""


DEFAULT_TEAM_ID = "default"
DEFAULT_ID_PREFIX = "INC"
TEAM_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
ID_PREFIX_RE = re.compile(r"^[A-Z]{2,6}$")
SEVERITIES = ("critical", "major", "minor")  # incident.model.Severity's values: settings sit below the incident
# The stakeholder email's subject line: `{application}` (the primary one), `{date}` (the local start date,
# MM-DD-YYYY), `{id}` (the incident's id); the default is the playbook's own line.
EMAIL_SUBJECT_FIELDS = ("application", "date", "id")
DEFAULT_EMAIL_SUBJECT = "{application} Production Outage {date}"
RESERVED_PREFIXES = frozenset({DEFAULT_ID_PREFIX, "REL"})  # the default team's incidents and the releases
# What a team may set for itself (its playbook); every other setting is the deployment's (its table, queues,
# secrets, API urls), shared by all teams. tests/unit/teams/test_team_settings.py keeps every setting in one of the two.
TEAM_SCOPED = frozenset(
    {
        "channel_id",
        "command_channel_ids",
        "pm_user_id",
        "backup_pm_user_id",
        "pm_out_of_office",
        "oncall_user_id",
        "stakeholders",
        "alert_bot_ids",
        "alert_recovery_patterns",
        "admin_user_ids",
        "applications",
        "extra_holidays",
        "holiday_calendar",
        "timezone",
        "business_day_start",
        "business_day_end",
        "ack_minutes_business",
        "ack_minutes_after_hours",
        "email_hours",
        "email_severities",
        "email_subject",
        "postmortem_severities",
        "ack_reminder_minutes",
        "email_reminder_minutes",
        "status_reminder_minutes",
        "postmortem_reminder_minutes",
        "postmortem_schedule_business_days",
        "postmortem_share_business_days",
        "release_notice_days",
        "release_digest_weeks",
        "pagerduty_escalation_policy_id",
        "pagerduty_critical_priorities",
        "pagerduty_critical_urgencies",
        "pagerduty_service_ids",
        "pagerduty_requester_id",
        "pagerduty_from_email",
        "partners",
        "leadership_emails",
        "team_name",
        "github_repo",
        "github_base_branch",
        "github_postmortem_path",
        "github_action_label",
        "action_item_reminder_days",
    }
)
# Team-scoped keys a team does not take from the default team: they say what the team owns, and two teams
# cannot own the same channel or PagerDuty service.
OWNED_KEYS = ("channel_id", "command_channel_ids", "pagerduty_service_ids")
# Team-scoped keys naming people: a team that does not set them has none, so the default team's admins cannot
# change its roster and its emails, pages and reviews never reach the default team's people.
PEOPLE_KEYS = (
    "pm_user_id",
    "backup_pm_user_id",
    "pm_out_of_office",
    "oncall_user_id",
    "stakeholders",
    "admin_user_ids",
    "leadership_emails",
    "pagerduty_escalation_policy_id",
    "pagerduty_requester_id",
    "pagerduty_from_email",
)
TEAM_KEYS = frozenset({"id", "id_prefix"}) | TEAM_SCOPED


class Team(NamedTuple):
    """One team's playbook: the default settings with the team's own team-scoped values.

    `error` is set for a team whose object did not validate when teams are loaded leniently (a Lambda's cold
    start): that team's channel and items are refused with the error, and every other team keeps working.
    """

    id: str
    id_prefix: str
    settings: Settings
    error: str = ""


class Settings(NamedTuple):
    table_name: str
    channel_id: str
    email_queue_url: str = ""
    outbox_queue_url: str = ""
    outbox_delay_seconds: int = 60
    pm_user_id: str = ""
    backup_pm_user_id: str = ""
    pm_out_of_office: bool = False
    oncall_user_id: str = ""
    stakeholders: tuple[str, ...] = ()
    leadership_emails: tuple[str, ...] = ()  # who gets the monthly outlook (the leadership meeting's list)
    email_sender: str = ""
    ses_configuration_set: str = ""  # SES publishes this stack's bounces and complaints through it
    alert_bot_ids: tuple[str, ...] = ()
    # Regexes matched at the start of an alert bot's message: such a message is a recovery (see alerts.py).
    alert_recovery_patterns: tuple[str, ...] = (r"\[Recovered\]", "Recovered:", r"\[RESOLVED\]", "RESOLVED:", "OK:")
    admin_user_ids: tuple[str, ...] = ()
    command_channel_ids: tuple[str, ...] = ()  # besides an incident's own channel, where its commands may be typed
    member_cache_seconds: int = 300
    applications: tuple[str, ...] = ("Check-In Experience",)
    extra_holidays: tuple[date, ...] = ()
    holiday_calendar: str = "US"  # core.calendar.HOLIDAY_CALENDARS: the federal table the layer ships, or none
    timezone: str = "America/New_York"
    business_day_start: time = time(7, 0)
    business_day_end: time = time(20, 0)
    ack_minutes_business: int = 15
    ack_minutes_after_hours: int = 60
    email_hours: int = 24
    email_severities: tuple[str, ...] = ("critical",)  # the severities the 24 h stakeholder email rule applies to
    email_subject: str = DEFAULT_EMAIL_SUBJECT
    postmortem_severities: tuple[str, ...] = ("critical",)  # which resolved incidents owe a post-mortem
    ack_reminder_minutes: tuple[int, ...] = (5,)
    email_reminder_minutes: tuple[int, ...] = (240, 60)
    status_reminder_minutes: tuple[int, ...] = (15,)
    postmortem_reminder_minutes: tuple[int, ...] = (1440,)
    postmortem_schedule_business_days: int = 2
    postmortem_share_business_days: int = 10
    release_notice_days: int = 14
    release_digest_weeks: int = 6
    dedupe_ttl_hours: int = 48
    slack_secret_name: str = "prodsupport/slack"  # noqa: S105 - a name, not a secret
    slack_api_url: str = "https://slack.com/api/"
    slack_retry_backoff_seconds: float = 0.5
    pagerduty_secret_name: str = "prodsupport/pagerduty"  # noqa: S105 - a name, not a secret
    pagerduty_api_url: str = "https://api.pagerduty.com"
    pagerduty_escalation_policy_id: str = ""
    # Who asks for help in PagerDuty: a responder request names a requester (a PagerDuty user id), and an
    # account-level API token must say on whose behalf it acts (the `From` email of a PagerDuty user).
    pagerduty_requester_id: str = ""
    pagerduty_from_email: str = ""
    pagerduty_critical_priorities: tuple[str, ...] = ("P1",)
    pagerduty_critical_urgencies: tuple[str, ...] = ("high",)
    team_name: str = "Check-In Experience"
    github_repo: str = ""
    github_base_branch: str = "main"
    github_postmortem_path: str = "Postmortems"
    github_action_label: str = "postmortem-action-item"
    github_secret_name: str = "prodsupport/github"  # noqa: S105 - a name, not a secret
    github_api_url: str = "https://api.github.com"
    github_retry_budget_seconds: float = 6.0
    action_item_reminder_days: int = 30
    pagerduty_service_ids: tuple[str, ...] = ()
    oncall_cache_seconds: int = 300
    secrets_max_age_seconds: int = 300
    # The partner directory as JSON objects; prodsupport.partner.model checks each field at cold start.
    partners: tuple[dict[str, Any], ...] = ()
    # An SSM parameter holding the `teams` JSON instead of PRODSUPPORT_TEAMS: a Lambda's environment is capped
    # at 4 KB in all, too little for a score of teams (an Advanced parameter holds 8 KB).
    teams_parameter: str = ""
    teams: tuple[Team, ...] = ()  # more teams than the default one (the top-level keys); see `load_teams`
    # The errors of the team objects a lenient load dropped (a bad id, prefix or channel, or one claimed twice):
    # the SLA checker counts them on every run, so the alarm stays on until the configuration is fixed.
    dropped_teams: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, lenient_teams: bool = False) -> Settings:
        """`lenient_teams`: a team object that does not validate is kept with its `error` instead of failing
        the load, so one team's bad playbook never stops the others; a team whose id, prefix, channel or
        services are bad or already another team's is dropped (logged, in `dropped_teams`): nobody could tell
        what routes to it, and the team that claimed them first keeps them."""
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for name in cls._fields:
            if name in ("teams", "dropped_teams"):
                continue
            var = PREFIX + name.upper()
            raw = env.get(var)
            if raw is None or not raw.strip():
                if name not in cls._field_defaults:
                    raise SettingsError(f"{var} is required and not set")
                continue
            try:
                values[name] = _parse(hints[name], raw)
            except ValueError as exc:
                raise SettingsError(f"{var} is malformed: {exc}") from None
        settings = cls(**values)
        settings.validate()
        raw_teams = env.get(PREFIX + "TEAMS")
        if settings.teams_parameter:
            if raw_teams is not None and raw_teams.strip():
                raise SettingsError("PRODSUPPORT_TEAMS and PRODSUPPORT_TEAMS_PARAMETER are both set: keep one")
            raw_teams = _read_parameter(settings.teams_parameter)
        if raw_teams is None or not raw_teams.strip():
            return settings
        teams, dropped = load_teams(raw_teams, settings, lenient=lenient_teams)
        return replace(settings, teams=teams, dropped_teams=dropped)

    def validate(self, name: Callable[[str], str] | None = None) -> None:
        """`name` says how a key is named in the message: its variable, or a team's field (`teams[1].timezone`)."""
        named = name or (lambda key: PREFIX + key.upper())
        for address in self.stakeholders:
            if not EMAIL_RE.match(address):
                raise SettingsError(f"{address!r} is not an email address ({named('stakeholders')})")
        if self.email_sender and not EMAIL_RE.match(self.email_sender):
            raise SettingsError(f"{self.email_sender!r} is not an email address ({named('email_sender')})")
        if self.pagerduty_from_email and not EMAIL_RE.match(self.pagerduty_from_email):
            raise SettingsError(
                f"{named('pagerduty_from_email')}: {self.pagerduty_from_email!r} is not an email address"
            )
        for address in self.leadership_emails:
            if not EMAIL_RE.match(address):
                raise SettingsError(f"{named('leadership_emails')}: {address!r} is not an email address")
        for key in ("email_severities", "postmortem_severities"):
            for severity in getattr(self, key):
                if severity not in SEVERITIES:
                    raise SettingsError(f"{named(key)}: {severity!r} is not one of {', '.join(SEVERITIES)}")
        _check_subject(self.email_subject, named("email_subject"))
        if self.holiday_calendar not in HOLIDAY_CALENDARS:
            raise SettingsError(
                f"{named('holiday_calendar')}: {self.holiday_calendar!r} is not one of {', '.join(HOLIDAY_CALENDARS)}"
                " (the layer ships the US federal table only)"
            )
        if not self.applications:
            raise SettingsError(f"{named('applications')} must name at least one application")
        for pattern in self.alert_recovery_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SettingsError(f"{named('alert_recovery_patterns')}: {pattern!r} is not a regex: {exc}") from None
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"{named('timezone')}: {self.timezone!r} is not an IANA time zone") from None
        if self.business_day_start >= self.business_day_end:
            raise SettingsError(f"{named('business_day_start')} must be before {named('business_day_end')}")
        if self.github_repo and not GITHUB_REPO_RE.match(self.github_repo):
            raise SettingsError(f"{named('github_repo')} must be owner/name, got {self.github_repo!r}")
        if ".." in self.github_postmortem_path.split("/") or self.github_postmortem_path.startswith("/"):
            raise SettingsError(f"{named('github_postmortem_path')} must be a folder inside the repository")

    @property
    def team_by_id(self) -> dict[str, Team]:
        return {team.id: team for team in self.teams}

    @property
    def ack_business(self) -> timedelta:
        return timedelta(minutes=self.ack_minutes_business)

    @property
    def ack_after_hours(self) -> timedelta:
        return timedelta(minutes=self.ack_minutes_after_hours)


def _check_subject(template: str, name: str) -> None:
    """At load, so a typo in a placeholder fails the deploy instead of the first email of an outage."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise SettingsError(f"{name}: {template!r} is not a subject template: {exc}") from None
    for _, field, spec, conversion in parts:
        if field is not None and (field not in EMAIL_SUBJECT_FIELDS or spec or conversion):
            raise SettingsError(
                f"{name}: {{{field}}} is not one of " + ", ".join(f"{{{key}}}" for key in EMAIL_SUBJECT_FIELDS)
            )


def _split(raw: str) -> list[str]:
    """Lists come as JSON arrays (from tooling) or comma-separated (from a CloudFormation parameter)."""
    text = raw.strip()
    if text.startswith("["):
        parsed = json.loads(text)
        if not isinstance(parsed, list):
            raise ValueError("expected a JSON array")
        return [str(item).strip() for item in parsed if str(item).strip()]
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse(hint: Any, raw: str) -> Any:
    if hint is str:
        return raw.strip()
    if hint is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
    if hint is time:
        try:
            return time.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(f"expected HH:MM, got {raw!r}") from None
    if hint == tuple[str, ...]:
        return tuple(_split(raw))
    if hint == tuple[int, ...]:
        try:
            return tuple(int(item) for item in _split(raw))
        except ValueError:
            raise ValueError(f"expected whole numbers separated by commas, got {raw!r}") from None
    if hint == tuple[date, ...]:
        try:
            return tuple(date.fromisoformat(item) for item in _split(raw))
        except ValueError:
            raise ValueError(f"expected YYYY-MM-DD dates separated by commas, got {raw!r}") from None
    if hint == tuple[dict[str, Any], ...]:
        parsed = json.loads(raw)
        if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
            raise ValueError("expected a JSON array of objects")
        return tuple(parsed)
    raise ValueError(f"unsupported setting type {hint!r}")


def load_teams(raw: str, default: Settings, *, lenient: bool = False) -> tuple[tuple[Team, ...], tuple[str, ...]]:
    """`PRODSUPPORT_TEAMS`: a JSON list of team objects, each field parsed as its setting is (`_parse`).

    A team is the default team's settings with its own values of the team-scoped keys, except what it owns
    (`OWNED_KEYS`) and its people (`PEOPLE_KEYS`), which start empty. An error names the field:
    `teams[1].business_day_start: expected HH:MM`. Returns the teams and, when `lenient`, the errors of the
    team objects dropped for a bad or already claimed identity (strictly, the first such error is raised).
    """
    try:
        objects = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"PRODSUPPORT_TEAMS is not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(objects, list):
        raise SettingsError("PRODSUPPORT_TEAMS must be a JSON list of team objects")
    hints = get_type_hints(Settings)
    owners = _Owners(default)
    teams: list[Team] = []
    dropped: list[str] = []
    for index, obj in enumerate(objects):
        where = f"teams[{index}]"
        try:
            if not isinstance(obj, dict):
                raise SettingsError(f"{where} must be a JSON object")
            team_id, prefix = _team_identity(where, obj)
            owners.claim(where, team_id, prefix, obj)
        except SettingsError as exc:
            if not lenient:
                raise
            _log_dropped(exc)
            dropped.append(str(exc))
            continue
        owned: dict[str, Any] = {key: _empty(hints[key]) for key in (*OWNED_KEYS, *PEOPLE_KEYS)}
        try:
            settings = replace(default, teams=(), **{**owned, **_team_values(where, obj, hints)})
            settings.validate(name=_field_namer(where))
        except SettingsError as exc:
            if not lenient:
                raise
            # What routes to the team is kept, so its channel and services reach it (and its error), not another team.
            routes: dict[str, Any] = {
                "channel_id": str(obj["channel_id"]),
                "command_channel_ids": tuple(_strings(obj.get("command_channel_ids"))),
                "pagerduty_service_ids": tuple(_strings(obj.get("pagerduty_service_ids"))),
            }
            broken = replace(default, teams=(), **routes)
            teams.append(Team(team_id, prefix, broken, error=str(exc)))
            continue
        teams.append(Team(team_id, prefix, settings))
    return tuple(teams), tuple(dropped)


def _read_parameter(name: str) -> str:
    """Once per cold start (Powertools caches it), so the teams cost one SSM call per container, not per
    request. Imported here: Powertools brings boto3, which settings (read by every domain) must not load."""
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - only a deployment with the parameter

    try:
        value = parameters.get_parameter(name, max_age=3600)
    except parameters.exceptions.GetParameterError as exc:
        raise SettingsError(f"PRODSUPPORT_TEAMS_PARAMETER: cannot read {name!r}: {exc}") from None
    return str(value)


def _log_dropped(error: SettingsError) -> None:
    """Imported here: Powertools brings boto3, which settings (read by every domain) must not load."""
    from aws_lambda_powertools import Logger  # noqa: PLC0415 - only a dropped team pays for it

    Logger(child=True).error("a team's identity is bad or already claimed: the team is dropped", error=str(error))


def _empty(hint: Any) -> Any:
    return "" if hint is str else False if hint is bool else ()


def _field_namer(where: str) -> Callable[[str], str]:
    return lambda key: f"{where}.{key}"


def _team_identity(where: str, obj: Mapping[str, Any]) -> tuple[str, str]:
    team_id, prefix, channel = obj.get("id"), obj.get("id_prefix"), obj.get("channel_id")
    if not isinstance(team_id, str) or not TEAM_ID_RE.match(team_id) or team_id == DEFAULT_TEAM_ID:
        raise SettingsError(f"{where}.id: expected lowercase letters, digits and '-' (not {DEFAULT_TEAM_ID!r})")
    if not isinstance(prefix, str) or not ID_PREFIX_RE.match(prefix) or prefix in RESERVED_PREFIXES:
        raise SettingsError(f"{where}.id_prefix: expected 2 to 6 capital letters other than INC and REL")
    if not isinstance(channel, str) or not channel.strip():
        raise SettingsError(f"{where}.channel_id: every team needs its channel")
    return team_id, prefix


class _Owners:
    """Ids, prefixes, channels and PagerDuty services each belong to one team: they are what routes to it."""

    def __init__(self, default: Settings) -> None:
        self.seen: dict[str, set[str]] = {
            "id": {DEFAULT_TEAM_ID},
            "id_prefix": set(RESERVED_PREFIXES),
            "channel_id": {default.channel_id, *default.command_channel_ids},
            "pagerduty_service_ids": set(default.pagerduty_service_ids),
        }

    def claim(self, where: str, team_id: str, prefix: str, obj: Mapping[str, Any]) -> None:
        channels = [str(obj["channel_id"]), *_strings(obj.get("command_channel_ids"))]
        wanted = {
            "id": [team_id],
            "id_prefix": [prefix],
            "channel_id": channels,
            "pagerduty_service_ids": _strings(obj.get("pagerduty_service_ids")),
        }
        # Claimed only once all are free: a team dropped for one taken channel leaves its other names free.
        claimed: dict[str, set[str]] = {key: set(self.seen[key]) for key in wanted}
        for key, values in wanted.items():
            for value in values:
                if value in claimed[key]:
                    raise SettingsError(f"{where}.{key}: {value!r} already belongs to another team")
                claimed[key].add(value)
        self.seen = claimed


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return _split(value) if isinstance(value, str) else []


def _team_values(where: str, obj: Mapping[str, Any], hints: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("id", "id_prefix"):
            continue
        if key not in TEAM_SCOPED:
            raise SettingsError(f"{where}.{key}: not a team setting (the deployment's, or unknown)")
        if isinstance(value, dict) or value is None:
            raise SettingsError(f"{where}.{key}: expected a value as its setting takes, got {value!r}")
        try:
            values[key] = _parse(hints[key], _setting_text(value))
        except ValueError as exc:
            raise SettingsError(f"{where}.{key}: {exc}") from None
    return values


def _setting_text(value: Any) -> str:
    """A JSON value as its environment variable would hold it, so one parser reads both."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return json.dumps([item if isinstance(item, dict) else str(item) for item in value])
    return str(value)


def env_from_config(config: Mapping[str, Any]) -> dict[str, str]:
    """The environment variables for a settings mapping (a replay `config` line, a test's overrides)."""
    return {PREFIX + key.upper(): _setting_text(value) for key, value in config.items()}
