"""What the incident remembers of GitHub: its post-mortem pull request and its action items.

Plain records kept inside the incident item (one DynamoDB item, written whole), so a webhook, a retry or a
second command sees what the first one did before it asks GitHub for anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from prodsupport.core.timefmt import parse_iso, to_iso

ActionType = Literal["prevent", "detect", "mitigate", "process"]
ACTION_TYPES: tuple[ActionType, ...] = get_args(ActionType)


@dataclass
class PullRequest:
    """The post-mortem's pull request: where the report lives until it merges."""

    repo: str
    number: int
    url: str
    branch: str
    path: str

    def to_record(self) -> dict[str, Any]:
        return {"repo": self.repo, "number": self.number, "url": self.url, "branch": self.branch, "path": self.path}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PullRequest:
        return cls(
            repo=str(record["repo"]),
            number=int(record["number"]),
            url=str(record["url"]),
            branch=str(record["branch"]),
            path=str(record["path"]),
        )


@dataclass
class ActionItem:
    """One action item; `key` (A1, A2, …) is stable, so a retried command finds its issue instead of filing two."""

    key: str
    description: str
    filed_by: str
    filed_at: datetime
    type: ActionType | None = None
    team: str = ""
    issue_number: int = 0
    issue_url: str = ""
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def to_record(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "description": self.description,
            "filed_by": self.filed_by,
            "filed_at": to_iso(self.filed_at),
            "type": self.type,
            "team": self.team,
            "issue_number": self.issue_number,
            "issue_url": self.issue_url,
            "closed_at": to_iso(self.closed_at) if self.closed_at else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ActionItem:
        kind = record.get("type")
        closed = record.get("closed_at")
        return cls(
            key=str(record["key"]),
            description=str(record["description"]),
            filed_by=str(record.get("filed_by", "")),
            filed_at=parse_iso(record["filed_at"]),
            type=kind if kind in ACTION_TYPES else None,
            team=str(record.get("team", "")),
            issue_number=int(record.get("issue_number", 0)),
            issue_url=str(record.get("issue_url", "")),
            closed_at=parse_iso(closed) if closed else None,
        )


@dataclass(frozen=True)
class ClosedPullRequest:
    """The fields of a `pull_request` `closed` delivery the post-mortem reads, checked for type at the edge."""

    repo: str
    repo_url: str
    number: int
    merged: bool
    head: str
    base: str
    sender: str


@dataclass(frozen=True)
class ClosedIssue:
    """The fields of an `issues` `closed` delivery an action item reads."""

    repo: str
    number: int
    body: str
    sender: str
