"""One typed settings object, read from `PRODSUPPORT_*` environment variables at cold start.

A bad value fails the cold start with a message naming the variable, instead of failing an incident
later. Secrets are never settings: only the names of the Secrets Manager secrets that hold them are.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import date, time, timedelta
from typing import Any, get_type_hints

PREFIX = "PRODSUPPORT_"
GITHUB_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
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
    timezone: str = "America/New_York"
    business_day_start: time = time(7, 0)
    business_day_end: time = time(20, 0)
    ack_minutes_business: int = 15
    ack_minutes_after_hours: int = 60
    email_hours: int = 24
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = PREFIX + f.name.upper()
            raw = env.get(var)
            if raw is None or not raw.strip():
                if f.default is MISSING and f.default_factory is MISSING:
                    raise SettingsError(f"{var} is required and not set")
                continue
            try:
                values[f.name] = _parse(hints[f.name], raw)
            except ValueError as exc:
                raise SettingsError(f"{var} is malformed: {exc}") from None
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for address in (*self.stakeholders, *([self.email_sender] if self.email_sender else [])):
            if not EMAIL_RE.match(address):
                raise SettingsError(f"{address!r} is not an email address (PRODSUPPORT_STAKEHOLDERS/EMAIL_SENDER)")
        if self.pagerduty_from_email and not EMAIL_RE.match(self.pagerduty_from_email):
            raise SettingsError(
                f"PRODSUPPORT_PAGERDUTY_FROM_EMAIL: {self.pagerduty_from_email!r} is not an email address"
            )
        for address in self.leadership_emails:
            if not EMAIL_RE.match(address):
                raise SettingsError(f"{address!r} is not an email address (PRODSUPPORT_LEADERSHIP_EMAILS)")
        if not self.applications:
            raise SettingsError("PRODSUPPORT_APPLICATIONS must name at least one application")
        for pattern in self.alert_recovery_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SettingsError(f"PRODSUPPORT_ALERT_RECOVERY_PATTERNS: {pattern!r} is not a regex: {exc}") from None
        if self.business_day_start >= self.business_day_end:
            raise SettingsError("PRODSUPPORT_BUSINESS_DAY_START must be before PRODSUPPORT_BUSINESS_DAY_END")
        if self.github_repo and not GITHUB_REPO_RE.match(self.github_repo):
            raise SettingsError(f"PRODSUPPORT_GITHUB_REPO must be owner/name, got {self.github_repo!r}")
        if ".." in self.github_postmortem_path.split("/") or self.github_postmortem_path.startswith("/"):
            raise SettingsError("PRODSUPPORT_GITHUB_POSTMORTEM_PATH must be a folder inside the repository")

    @property
    def ack_business(self) -> timedelta:
        return timedelta(minutes=self.ack_minutes_business)

    @property
    def ack_after_hours(self) -> timedelta:
        return timedelta(minutes=self.ack_minutes_after_hours)


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


def env_from_config(config: Mapping[str, Any]) -> dict[str, str]:
    """The environment variables for a settings mapping (a replay `config` line, a test's overrides)."""
    env: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            text = json.dumps([item if isinstance(item, dict) else str(item) for item in value])
        else:
            text = str(value)
        env[PREFIX + key.upper()] = text
    return env
