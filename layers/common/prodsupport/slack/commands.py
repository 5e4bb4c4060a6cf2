"""The text interface: `/incident`, `/prodsupport` command text parsed into plain values.

Pure: a parse either yields a command or a `UserError` whose message is the usage the person needs,
which the handler shows ephemerally. Nothing is changed for text that does not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, cast

from prodsupport.core.errors import UserError
from prodsupport.core.mrkdwn import link, plain_text, user_id
from prodsupport.core.settings import EMAIL_RE
from prodsupport.github.model import ACTION_TYPES, ActionType
from prodsupport.incident.model import INCIDENT_ID_RE, Severity
from prodsupport.incident.next_update import NextUpdate, parse_next_update
from prodsupport.postmortem.model import AddActionItem, PostmortemCheckpoint, parse_session_time

PAGERDUTY_URL_RE = re.compile(r"/incidents/([A-Z0-9]+)", re.IGNORECASE)
PAGERDUTY_ID_RE = re.compile(r"^[A-Z0-9]{5,}$")
MAX_TEXT = 3000  # a field's text; the incident is one DynamoDB item (400 KB), read and written whole
ACTION_TYPE_RE = re.compile(r"(?:^|\s+)type\s+(\S+)\s*$", re.IGNORECASE)
ACTION_TEAM_RE = re.compile(r"(?:^|\s+)team\s+(\S.*?)\s*$", re.IGNORECASE)

INCIDENT_USAGE = """\
`/incident` opens the declare form. Or:
• `/incident <critical|major|minor> <title>` declares an incident
• `/incident list` shows open incidents and their clocks
• `/incident partners` lists the partner directory
• `/incident <id> summary <text>` · `impact <text>` · `apps <A, B>` · `severity <critical|major|minor>`
• `/incident <id> status <text> [next 2h | next 14:00]` posts a status update
• `/incident <id> resolve <text>` resolves it
• `/incident <id> link <PagerDuty incident id or URL>`
• `/incident <id> partner <name…>` tags partners in the thread (and pages them in PagerDuty when linked)
• `/incident <id> email` sends the stakeholder email now (PM, backup or admin)
• `/incident <id> postmortem scheduled <YYYY-MM-DD HH:MM> <attendees…>` · `postmortem held` · \
`postmortem shared <url>` · `postmortem needed` (admins: asks for one on any incident)
• `/incident <id> action <description> [type prevent|detect|mitigate|process] [team <name>]` files a post-mortem \
action item as a GitHub issue"""

PRODSUPPORT_USAGE = """\
Admins only:
• `/prodsupport pm @user` · `/prodsupport backup @user` · `/prodsupport ooo on|off`
• `/prodsupport stakeholders add <emails>` · `stakeholders remove <emails>` · `stakeholders list`"""


@dataclass(frozen=True)
class OpenDeclareForm:
    pass


@dataclass(frozen=True)
class Help:
    text: str = INCIDENT_USAGE


@dataclass(frozen=True)
class ListIncidents:
    pass


@dataclass(frozen=True)
class ListPartners:
    pass


@dataclass(frozen=True)
class TagPartners:
    incident_id: str
    names: str


@dataclass(frozen=True)
class Declare:
    severity: Severity
    title: str


@dataclass(frozen=True)
class SetField:
    incident_id: str
    field: Literal["summary", "business_impact"]
    value: str


@dataclass(frozen=True)
class SetApplications:
    incident_id: str
    applications: tuple[str, ...]


@dataclass(frozen=True)
class SetSeverity:
    incident_id: str
    severity: Severity


@dataclass(frozen=True)
class StatusUpdate:
    incident_id: str
    text: str
    next_update: NextUpdate | None = None


@dataclass(frozen=True)
class Resolve:
    incident_id: str
    text: str


@dataclass(frozen=True)
class LinkPagerDuty:
    incident_id: str
    pagerduty_id: str
    url: str


@dataclass(frozen=True)
class SendEmail:
    incident_id: str


@dataclass(frozen=True)
class RosterChange:
    action: Literal["pm", "backup", "ooo", "stakeholders_add", "stakeholders_remove", "stakeholders_list", "help"]
    user_id: str = ""
    on: bool = False
    emails: tuple[str, ...] = field(default_factory=tuple)


IncidentCommand = (
    OpenDeclareForm
    | Help
    | ListIncidents
    | ListPartners
    | TagPartners
    | Declare
    | SetField
    | SetApplications
    | SetSeverity
    | StatusUpdate
    | Resolve
    | LinkPagerDuty
    | SendEmail
    | PostmortemCheckpoint
    | AddActionItem
)


def _severity(word: str) -> Severity:
    try:
        return Severity(word.lower())
    except ValueError:
        raise UserError(f"`{word}` is not a severity; expected critical, major or minor") from None


def _require(text: str, what: str, usage: str) -> str:
    """A free-text argument as the person meant it (made plain once here, escaped again wherever echoed)."""
    if not text.strip():
        raise UserError(f"{what} is missing. Usage: {usage}")
    if len(text) > MAX_TEXT:
        raise UserError(f"{what} is {len(text)} characters; keep it under {MAX_TEXT} (link a document for more).")
    return plain_text(text.strip())


def parse_incident(text: str) -> IncidentCommand:
    words = text.split()
    if not words:
        return OpenDeclareForm()
    head = words[0].lower()
    if head == "help":
        return Help()
    if head == "list":
        return ListIncidents()
    if head == "partners":
        return ListPartners()
    if head in {s.value for s in Severity}:
        title = _require(text.split(None, 1)[1] if len(words) > 1 else "", "The title", "`/incident critical <title>`")
        return Declare(Severity(head), title)
    if not INCIDENT_ID_RE.match(words[0]):
        raise UserError(f"I didn't understand `{words[0]}`.\n{INCIDENT_USAGE}")
    incident_id = words[0].upper()
    if len(words) < 2:
        raise UserError(f"What should I do with {incident_id}?\n{INCIDENT_USAGE}")
    verb = words[1].lower()
    rest = text.split(None, 2)[2] if len(words) > 2 else ""
    return _parse_verb(incident_id, verb, rest)


def _parse_verb(incident_id: str, verb: str, rest: str) -> IncidentCommand:
    match verb:
        case "summary":
            return SetField(
                incident_id,
                "summary",
                _require(rest, "The summary", f"`/incident {incident_id} summary <text>`"),
            )
        case "impact":
            usage = f"`/incident {incident_id} impact <text>`"
            return SetField(incident_id, "business_impact", _require(rest, "The business impact", usage))
        case "apps":
            usage = f"`/incident {incident_id} apps <A, B>`"
            apps = tuple(a.strip() for a in _require(rest, "The applications", usage).split(",") if a.strip())
            if not apps:
                raise UserError(f"The applications are missing. Usage: {usage}")
            return SetApplications(incident_id, apps)
        case "severity":
            return SetSeverity(
                incident_id,
                _severity(_require(rest, "The severity", f"`/incident {incident_id} severity critical`")),
            )
        case "status":
            body, promise = parse_next_update(
                _require(rest, "The status", f"`/incident {incident_id} status <text> [next 2h]`")
            )
            return StatusUpdate(
                incident_id, _require(body, "The status", f"`/incident {incident_id} status <text>`"), promise
            )
        case "resolve":
            return Resolve(
                incident_id,
                _require(rest, "The resolution", f"`/incident {incident_id} resolve <what fixed it>`"),
            )
        case "link":
            return _parse_link(incident_id, rest)
        case "email":
            return SendEmail(incident_id)
        case "partner" | "partners":
            usage = f"`/incident {incident_id} partner <name…>` (`/incident partners` lists them)"
            return TagPartners(incident_id, _require(rest, "The partner", usage))
        case "postmortem":
            return _parse_postmortem(incident_id, rest)
        case "action":
            return _parse_action(incident_id, rest)
    raise UserError(f"`{verb}` is not something I can do to an incident.\n{INCIDENT_USAGE}")


def _parse_link(incident_id: str, rest: str) -> LinkPagerDuty:
    usage = f"`/incident {incident_id} link <PagerDuty incident id or URL>`"
    if not rest.strip():
        raise UserError(f"The PagerDuty incident is missing. Usage: {usage}")
    target = link(rest.split(maxsplit=1)[0])
    url_match = PAGERDUTY_URL_RE.search(target)
    if url_match:
        return LinkPagerDuty(incident_id, url_match.group(1).upper(), target)
    if PAGERDUTY_ID_RE.match(target.upper()):
        return LinkPagerDuty(incident_id, target.upper(), "")
    raise UserError(f"`{target}` is not a PagerDuty incident id or URL. Usage: {usage}")


def _parse_postmortem(incident_id: str, rest: str) -> PostmortemCheckpoint:
    usage = (
        f"`/incident {incident_id} postmortem scheduled <YYYY-MM-DD HH:MM> <attendees…>`, "
        f"`postmortem held`, `postmortem shared <url>` or (admins) `postmortem needed`"
    )
    words = rest.split()
    if not words:
        raise UserError(f"Which checkpoint? Usage: {usage}")
    state = words[0].lower()
    if state in ("held", "needed"):
        return PostmortemCheckpoint(incident_id, "held" if state == "held" else "needed")
    if state == "shared":
        if len(words) < 2:
            raise UserError(f"The post-mortem link is missing. Usage: {usage}")
        return PostmortemCheckpoint(incident_id, "shared", url=link(words[1]))
    if state == "scheduled":
        if len(words) < 3:
            raise UserError(f"The date and time are missing. Usage: {usage}")
        when = parse_session_time(words[1], words[2], usage)
        return PostmortemCheckpoint(incident_id, "scheduled", scheduled_for=when, attendees=tuple(words[3:]))
    raise UserError(f"`{state}` is not a post-mortem checkpoint. Usage: {usage}")


def _parse_action(incident_id: str, rest: str) -> AddActionItem:
    """`<description> [type <t>] [team <name>]`: the options trail the description, in either order."""
    usage = f"`/incident {incident_id} action <description> [type prevent|detect|mitigate|process] [team <name>]`"
    text = _require(rest, "The action item", usage)
    kind: ActionType | None = None
    team = ""
    while True:
        type_match = ACTION_TYPE_RE.search(text) if kind is None else None
        team_match = ACTION_TEAM_RE.search(text) if not team else None
        if type_match:
            word = type_match.group(1).lower()
            if word not in ACTION_TYPES:
                raise UserError(f"`{word}` is not an action item type. Usage: {usage}")
            kind, text = cast(ActionType, word), text[: type_match.start()].rstrip()
        elif team_match:
            team, text = team_match.group(1).strip(), text[: team_match.start()].rstrip()
        else:
            break
    if not text.strip():
        raise UserError(f"The action item's description is missing. Usage: {usage}")
    return AddActionItem(incident_id, text.strip(), kind, team)


def parse_prodsupport(text: str) -> RosterChange:
    words = text.split()
    if not words or words[0].lower() == "help":
        return RosterChange("help")
    head = words[0].lower()
    if head in ("pm", "backup"):
        user = user_id(words[1]) if len(words) > 1 else None
        if not user:
            raise UserError(f"Usage: `/prodsupport {head} @user`")
        return RosterChange("pm" if head == "pm" else "backup", user_id=user)
    if head == "ooo":
        if len(words) < 2 or words[1].lower() not in ("on", "off"):
            raise UserError("Usage: `/prodsupport ooo on` or `/prodsupport ooo off`")
        return RosterChange("ooo", on=words[1].lower() == "on")
    if head == "stakeholders":
        sub = words[1].lower() if len(words) > 1 else ""
        if sub == "list":
            return RosterChange("stakeholders_list")
        if sub in ("add", "remove"):
            emails = tuple(_email(token) for token in re.split(r"[\s,;]+", " ".join(words[2:])) if token)
            if not emails:
                raise UserError(f"Usage: `/prodsupport stakeholders {sub} <email> [<email>…]`")
            return RosterChange("stakeholders_add" if sub == "add" else "stakeholders_remove", emails=emails)
        raise UserError("Usage: `/prodsupport stakeholders add|remove <emails>` or `stakeholders list`")
    raise UserError(f"I didn't understand `{words[0]}`.\n{PRODSUPPORT_USAGE}")


def _email(token: str) -> str:
    """Slack sends typed addresses as `<mailto:a@b.gov|a@b.gov>`."""
    token = token.strip()
    mailto = re.match(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$", token)
    address = (mailto.group(1) if mailto else token).lower()
    if not EMAIL_RE.match(address):
        raise UserError(f"`{token}` is not an email address")
    return address
