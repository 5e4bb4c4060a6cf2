"""Releases in DynamoDB: one partition, conditional writes, reads bounded by the years asked about.

Every release lives under pk=RELEASES with sk=REL#<id>. Ids carry the year of the release date, so a
date range becomes a sort-key range over the years it spans: the digest reads this year's calendar (and
next year's near New Year), never the whole history. Each change is conditional on the state it assumes,
so a cancel and the release-day run cannot both win. A slot item (sk=SLOT#<application>#<date>) is written
in the same transaction as a new release, so two people announcing the same release at once make one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prodsupport.core.settings import DEFAULT_TEAM_ID
from prodsupport.core.timefmt import to_iso
from prodsupport.infra.dynamo import ConditionFailed, Table
from prodsupport.release.model import Release, ReleaseStatus

PARTITION = "RELEASES"
PREFIX = "REL#"


class ReleaseNotFound(LookupError):
    pass


class ReleaseNotScheduled(Exception):
    """The release was cancelled before this change could apply; `release` is how it stands now."""

    def __init__(self, release: Release) -> None:
        super().__init__(release.id)
        self.release = release


class ReleaseSlotTaken(Exception):
    """A scheduled release already holds this application and date; `release` is that one."""

    def __init__(self, release: Release) -> None:
        super().__init__(release.id)
        self.release = release


def _sk(release_id: str) -> str:
    return PREFIX + release_id


def _slot_sk(release: Release) -> str:
    """One release a day per application and team; the default team's slots keep their key from before teams."""
    team = "" if release.team == DEFAULT_TEAM_ID else f"{release.team}#"
    return f"SLOT#{team}{release.application.casefold()}#{release.date.isoformat()}"


class ReleaseStore:
    """A team's releases: they share the table's release partition and id sequence, and each reads its own."""

    def __init__(self, table: Table, team: str = DEFAULT_TEAM_ID) -> None:
        self.table = table
        self.team = team

    def create(self, release: Release) -> None:
        """Store a new release with its application-and-date slot, or raise ReleaseSlotTaken.

        A slot left by a cancelled release (its cancel could not free it) is freed here and tried once more.
        """
        for _ in range(2):
            try:
                self.table.put_all(
                    [
                        ({"pk": PARTITION, "sk": _sk(release.id), **release.to_record()}, "attribute_not_exists(pk)"),
                        (
                            {"pk": PARTITION, "sk": _slot_sk(release), "release_id": release.id},
                            "attribute_not_exists(pk)",
                        ),
                    ]
                )
            except ConditionFailed:
                holder = self.table.get(PARTITION, _slot_sk(release))
                held_by = self.get(str(holder["release_id"])) if holder else None
                if held_by is not None and held_by.status is ReleaseStatus.SCHEDULED:
                    raise ReleaseSlotTaken(held_by) from None
                self.table.delete(PARTITION, _slot_sk(release))
            else:
                return
        raise ReleaseSlotTaken(release)

    def get(self, release_id: str) -> Release | None:
        item = self.table.get(PARTITION, _sk(release_id))
        release = Release.from_record(item) if item else None
        return release if release is not None and release.team == self.team else None

    def dated(self, first: dt.date, last: dt.date | None = None) -> list[Release]:
        """Releases dated in [first, last] (or from `first` on), by date, scheduled or not."""
        names = {"#d": "date"}
        vals: dict[str, Any] = {":pk": PARTITION, ":lo": f"{PREFIX}REL-{first.year}-", ":first": first.isoformat()}
        if last is None:
            key_condition = "pk = :pk AND sk >= :lo"
            filter_expression = "#d >= :first"
        else:
            key_condition = "pk = :pk AND sk BETWEEN :lo AND :hi"
            filter_expression = "#d BETWEEN :first AND :last"
            vals |= {":hi": f"{PREFIX}REL-{last.year}-~", ":last": last.isoformat()}
        items = self.table.query(
            key_condition=key_condition, filter_expression=filter_expression, names=names, vals=vals
        )
        releases = (Release.from_record(item) for item in items)
        return sorted((r for r in releases if r.team == self.team), key=lambda r: (r.date, r.id))

    def revise(self, release_id: str, *, summary: str, notes: str, link: str) -> Release:
        """New words for a scheduled release; a cancelled one stays cancelled."""
        return self._change(
            release_id,
            "SET summary = :summary, notes = :notes, #link = :link",
            names={"#link": "link"},
            vals={":summary": summary, ":notes": notes, ":link": link},
        )

    def cancel(self, release_id: str) -> Release:
        """Cancel, then free its slot so the application can announce that date again."""
        cancelled = self._change(
            release_id, "SET #status = :cancelled", names={}, vals={":cancelled": ReleaseStatus.CANCELLED.value}
        )
        self.table.delete(PARTITION, _slot_sk(cancelled))
        return cancelled

    def mark_emailed(self, release_id: str, at: dt.datetime) -> bool:
        """Record that the release-day email was queued; False when it already was (or the release was cancelled)."""
        try:
            self.table.update(
                PARTITION,
                _sk(release_id),
                "SET emailed_at = :at",
                condition="attribute_exists(pk) AND #status = :scheduled AND attribute_not_exists(emailed_at)",
                names={"#status": "status"},
                vals={":at": to_iso(at), ":scheduled": ReleaseStatus.SCHEDULED.value},
            )
        except ConditionFailed:
            return False
        return True

    def _change(self, release_id: str, expression: str, *, names: dict[str, str], vals: dict[str, Any]) -> Release:
        try:
            item = self.table.update(
                PARTITION,
                _sk(release_id),
                expression,
                condition="attribute_exists(pk) AND #status = :scheduled",
                names={"#status": "status", **names},
                vals={":scheduled": ReleaseStatus.SCHEDULED.value, **vals},
            )
        except ConditionFailed as lost:
            if lost.item:
                raise ReleaseNotScheduled(Release.from_record(lost.item)) from None
            raise ReleaseNotFound(release_id) from None
        return Release.from_record(item)
