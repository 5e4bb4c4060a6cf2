"""A release on the calendar, and the playbook's judgements about it: enough notice, a working day, the email.

The playbook asks for "multiple weeks warning" at the weekly sync before a release, and an email to the
sync's invite list on the day itself. Pure: the caller passes every instant and the calendar, so a replay
decides exactly as production did, and the command text is parsed here without touching Slack.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from prodsupport.core.mrkdwn import unescape_text
from prodsupport.core.rendering import RenderedEmail, environment, one_line
from prodsupport.core.settings import DEFAULT_TEAM_ID
from prodsupport.core.timefmt import parse_iso, to_iso

if TYPE_CHECKING:
    from prodsupport.core.calendar import PlaybookCalendar

RELEASE_ID_RE = re.compile(r"^REL-(\d{4})-(\d{4,})$", re.IGNORECASE)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LINK_RE = re.compile(r"^https?://[^\s<>|\"]+$", re.IGNORECASE)
MAX_APPLICATION = 75
MAX_SUMMARY = 1000
MAX_NOTES = 3000
MAX_LINK = 500

FORM_CALLBACK_ID = "release_create"  # the announce form, routed back by this id
RELEASE_USAGE = """\
`/release` (or `/release new`) opens the release form, with room for notes and a link. Or:
• `/release <application> <YYYY-MM-DD> <summary>` puts a release on the calendar (again for the same \
application and date updates its summary)
• `/release list` shows the scheduled releases
• `/release cancel <REL-YYYY-NNNN>` cancels one: no release-day email goes out"""


class ReleaseInputError(ValueError):
    """Text or form input that does not describe a release; the message says what was expected."""


class ReleaseStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


def format_release_id(year: int, sequence: int) -> str:
    """`REL-<year of the release date>-<4-digit sequence>`, as docs/design.md#identifiers fixes it."""
    return f"REL-{year}-{sequence:04d}"


def format_day(day: dt.date) -> str:
    """How people read a release date, e.g. 'Wed 06/10/2026' (the weekday matters for a release)."""
    return f"{day:%a %m/%d/%Y}"


@dataclass
class Release:
    id: str
    application: str
    date: dt.date
    summary: str
    announced_at: dt.datetime
    announced_by: str
    notes: str = ""
    link: str = ""
    status: ReleaseStatus = ReleaseStatus.SCHEDULED
    emailed_at: dt.datetime | None = None
    team: str = DEFAULT_TEAM_ID  # a release written before teams has none: it is the default team's

    @property
    def subject(self) -> str:
        """The playbook's subject pattern, on one line: a header can never carry CR/LF or other controls."""
        return one_line(f"{self.application} Release {self.date:%m-%d-%Y}")

    def days_of_notice(self, calendar: PlaybookCalendar) -> int:
        """Whole days between the announcement (its date on the playbook's wall clock) and the release."""
        return (self.date - calendar.local(self.announced_at).date()).days

    def is_short_notice(self, calendar: PlaybookCalendar, minimum_days: int) -> bool:
        """Announced with less warning than the playbook's "multiple weeks": the digest flags it."""
        return self.days_of_notice(calendar) < minimum_days

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "application": self.application,
            "date": self.date.isoformat(),
            "summary": self.summary,
            "notes": self.notes,
            "link": self.link,
            "announced_at": to_iso(self.announced_at),
            "announced_by": self.announced_by,
            "status": self.status.value,
            "emailed_at": to_iso(self.emailed_at) if self.emailed_at else None,
            "team": self.team,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Release:
        emailed_at = record.get("emailed_at")
        return cls(
            id=record["id"],
            application=record["application"],
            date=dt.date.fromisoformat(record["date"]),
            summary=record.get("summary", ""),
            notes=record.get("notes", ""),
            link=record.get("link", ""),
            announced_at=parse_iso(record["announced_at"]),
            announced_by=record.get("announced_by", ""),
            status=ReleaseStatus(record.get("status", ReleaseStatus.SCHEDULED.value)),
            emailed_at=parse_iso(emailed_at) if emailed_at else None,
            team=str(record.get("team") or DEFAULT_TEAM_ID),
        )


def day_warning(calendar: PlaybookCalendar, day: dt.date) -> str | None:
    """Why a release date is not a business day, or None when it is.

    A weekend or holiday release is allowed (sometimes it is the quiet day the team wants), but the people
    who would answer an incident after it should know before they agree to it.
    """
    if calendar.is_business_day(day):
        return None
    reasons = ["weekend"] if day.weekday() >= 5 else []
    holiday = calendar.holiday_name(day)
    if holiday:
        reasons.append(holiday)
    return f"{day:%A %m/%d/%Y} is not a business day ({', '.join(reasons)})"


def parse_day(text: str) -> dt.date:
    """A release date as people type it in the command: YYYY-MM-DD, nothing looser."""
    token = text.strip()
    if DATE_RE.match(token):
        try:
            return dt.date.fromisoformat(token)
        except ValueError:
            pass
    raise ReleaseInputError(f"`{token}` is not a date; use YYYY-MM-DD, e.g. `2026-06-10`")


def check_link(text: str) -> str:
    link = text.strip()
    if link and (len(link) > MAX_LINK or not LINK_RE.match(link)):
        raise ReleaseInputError("The link must be a single http(s) URL.")
    return link


def check_text(text: str, what: str, limit: int, *, required: bool) -> str:
    value = text.strip()
    if required and not value:
        raise ReleaseInputError(f"The {what} is missing.")
    if len(value) > limit:
        raise ReleaseInputError(f"The {what} is {len(value)} characters; keep it under {limit}.")
    return value


# --- the command text ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenReleaseForm:
    pass


@dataclass(frozen=True)
class ReleaseHelp:
    pass


@dataclass(frozen=True)
class ListReleases:
    pass


@dataclass(frozen=True)
class Announce:
    application: str
    day: dt.date
    summary: str


@dataclass(frozen=True)
class CancelRelease:
    release_id: str


ReleaseCommand = OpenReleaseForm | ReleaseHelp | ListReleases | Announce | CancelRelease


def match_application(text: str, applications: tuple[str, ...]) -> tuple[str, str]:
    """Split the application off the front of the text: a configured name (longest first, any case), else a word.

    Configured names may have spaces ("Check-In Experience"), so they are tried before falling back to the
    first word; the configured spelling is kept, so the email subject reads the same whoever typed it.
    """
    for name in sorted(applications, key=len, reverse=True):
        head = text[: len(name)]
        rest = text[len(name) :]
        if name and head.casefold() == name.casefold() and (not rest or rest[0].isspace()):
            return name, rest.strip()
    first, _, rest = text.partition(" ")
    return first, rest.strip()


def parse_release(text: str, applications: tuple[str, ...]) -> ReleaseCommand:
    words = text.split()
    if not words or (len(words) == 1 and words[0].lower() == "new"):
        return OpenReleaseForm()
    head = words[0].lower()
    if head == "help" and len(words) == 1:
        return ReleaseHelp()
    if head == "list" and len(words) == 1:
        return ListReleases()
    if head == "cancel":
        if len(words) != 2 or not RELEASE_ID_RE.match(words[1]):
            raise ReleaseInputError("Usage: `/release cancel <REL-YYYY-NNNN>` (`/release list` shows the ids)")
        return CancelRelease(words[1].upper())
    if DATE_RE.match(words[0]):
        raise ReleaseInputError(f"The application is missing.\n{RELEASE_USAGE}")
    application, rest = match_application(unescape_text(" ".join(words)), applications)
    application = check_text(application, "application name", MAX_APPLICATION, required=True)
    date_text, _, summary = rest.partition(" ")
    if not date_text:
        raise ReleaseInputError(f"The release date is missing.\n{RELEASE_USAGE}")
    day = parse_day(date_text)
    return Announce(application, day, check_text(summary, "summary", MAX_SUMMARY, required=True))


# --- the release-day email -----------------------------------------------------------------------------


def release_email(release: Release) -> RenderedEmail:
    """The release-day email: subject `<Application> Release MM-DD-YYYY`, then the summary and the notes."""
    templates = environment()
    context = {
        "application": release.application,
        "release_date": f"{release.date:%A, %B} {release.date.day}, {release.date:%Y}",
        "summary": release.summary,
        "notes": release.notes,
        "link": release.link,
        "release_id": release.id,
    }
    return RenderedEmail(
        subject=release.subject,
        text=templates.get_template("release_email.txt.j2").render(context),
        html=templates.get_template("release_email.html.j2").render(context),
    )
