"""The partner directory: who supports which application, and how to reach them in Slack and PagerDuty.

Read from the `partners` setting and checked once at cold start, so a typo in an alias or a user id fails the
deploy with the entry and field named (`partners[2].aliases: ...`) instead of failing a tag mid-incident.
Pure: no Slack, no AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from prodsupport.core.settings import SettingsError

FIELDS = (
    "name",
    "aliases",
    "slack_usergroup_id",
    "slack_user_ids",
    "pagerduty_escalation_policy_id",
    "pagerduty_service_id",
    "applications",
)
USERGROUP_RE = re.compile(r"^S[A-Z0-9]{2,}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
PAGERDUTY_ID_RE = re.compile(r"^[A-Z0-9]{2,}$")
MAX_NAME = 75  # a Block Kit option's text


class Partner(NamedTuple):
    name: str
    aliases: tuple[str, ...] = ()
    slack_usergroup_id: str = ""
    slack_user_ids: tuple[str, ...] = ()
    pagerduty_escalation_policy_id: str = ""
    pagerduty_service_id: str = ""
    applications: tuple[str, ...] = ()

    @property
    def mentions(self) -> str:
        """How a post reaches them: the user group pings everyone in it; people are named one by one."""
        group = [f"<!subteam^{self.slack_usergroup_id}>"] if self.slack_usergroup_id else []
        return " ".join([*group, *(f"<@{user}>" for user in self.slack_user_ids)])

    @property
    def pageable(self) -> bool:
        return bool(self.pagerduty_escalation_policy_id or self.pagerduty_service_id)

    def supports(self, applications: Iterable[str]) -> bool:
        mine = {app.casefold() for app in self.applications}
        return any(app.casefold() in mine for app in applications)


class UnknownPartners(LookupError):
    """Words that name no partner; the caller answers with the directory's names."""

    def __init__(self, words: Sequence[str]) -> None:
        super().__init__(", ".join(words))
        self.words = tuple(words)


class PartnerDirectory(NamedTuple):
    """`error` is why the `partners` setting could not be read: the directory is then empty, and only the
    partner commands say so, because one bad entry must not stop every other request."""

    partners: tuple[Partner, ...] = ()
    error: str = ""

    @classmethod
    def parse(cls, entries: Sequence[Mapping[str, Any]]) -> PartnerDirectory:
        """The directory from the setting's JSON objects; raises SettingsError naming the entry and field."""
        partners = tuple(_partner(index, entry) for index, entry in enumerate(entries))
        seen: dict[str, str] = {}
        for index, partner in enumerate(partners):
            for key, word in (("name", partner.name), *(("aliases", alias) for alias in partner.aliases)):
                folded = word.casefold()
                if folded in seen and seen[folded] != partner.name:
                    raise SettingsError(f"partners[{index}].{key}: {word!r} already names {seen[folded]!r}")
                seen[folded] = partner.name
        return cls(partners)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(partner.name for partner in self.partners)

    def get(self, word: str) -> Partner | None:
        """A partner by name or alias, in any case."""
        folded = word.strip().casefold()
        for partner in self.partners:
            if folded in {partner.name.casefold(), *(alias.casefold() for alias in partner.aliases)}:
                return partner
        return None

    def resolve(self, text: str) -> tuple[Partner, ...]:
        """The partners a person named, separated by commas or spaces: a name of several words ("Lighthouse
        APIs") is matched whole, longest first. Raises UnknownPartners with every word that named nobody."""
        found: list[Partner] = []
        unknown: list[str] = []
        for chunk in (part.strip() for part in text.split(",")):
            words = chunk.split()
            start = 0
            while start < len(words):
                for end in range(len(words), start, -1):
                    partner = self.get(" ".join(words[start:end]))
                    if partner is not None:
                        if partner not in found:
                            found.append(partner)
                        start = end
                        break
                else:
                    unknown.append(words[start])
                    start += 1
        if unknown:
            raise UnknownPartners(unknown)
        return tuple(found)

    def supporting(self, applications: Iterable[str]) -> tuple[Partner, ...]:
        apps = list(applications)
        return tuple(partner for partner in self.partners if partner.supports(apps))


def _partner(index: int, entry: Mapping[str, Any]) -> Partner:
    where = f"partners[{index}]"
    if not isinstance(entry, Mapping):
        raise SettingsError(f"{where}: expected an object with at least a name")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise SettingsError(f"{where}.{unknown[0]}: not a partner field (expected {', '.join(FIELDS)})")
    name = _text(entry, "name", where, required=True)
    if len(name) > MAX_NAME:
        raise SettingsError(f"{where}.name: keep it under {MAX_NAME} characters")
    partner = Partner(
        name=name,
        aliases=_texts(entry, "aliases", where),
        slack_usergroup_id=_text(entry, "slack_usergroup_id", where, pattern=USERGROUP_RE),
        slack_user_ids=_texts(entry, "slack_user_ids", where, pattern=USER_RE),
        pagerduty_escalation_policy_id=_text(entry, "pagerduty_escalation_policy_id", where, pattern=PAGERDUTY_ID_RE),
        pagerduty_service_id=_text(entry, "pagerduty_service_id", where, pattern=PAGERDUTY_ID_RE),
        applications=_texts(entry, "applications", where),
    )
    if not partner.slack_usergroup_id and not partner.slack_user_ids:  # a tag would ping nobody, saying it did
        raise SettingsError(f"{where}.slack_usergroup_id: a partner needs a Slack user group or slack_user_ids")
    return partner


def _text(
    entry: Mapping[str, Any], key: str, where: str, *, required: bool = False, pattern: re.Pattern[str] | None = None
) -> str:
    value = entry.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise SettingsError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise SettingsError(f"{where}.{key}: is required")
    if value and pattern is not None and not pattern.match(value):
        raise SettingsError(f"{where}.{key}: {value!r} is not a valid id")
    if "," in value or "<" in value or ">" in value:
        raise SettingsError(f"{where}.{key}: {value!r} may not contain ',', '<' or '>'")
    return value


def _texts(
    entry: Mapping[str, Any], key: str, where: str, *, pattern: re.Pattern[str] | None = None
) -> tuple[str, ...]:
    value = entry.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise SettingsError(f"{where}.{key}: expected a list of non-empty strings")
    items = tuple(item.strip() for item in value)
    for item in items:
        if pattern is not None and not pattern.match(item):
            raise SettingsError(f"{where}.{key}: {item!r} is not a valid id")
        if "," in item or "<" in item or ">" in item:
            raise SettingsError(f"{where}.{key}: {item!r} may not contain ',', '<' or '>'")
    return items
