"""Who owns the playbook's duties: the PM, the backup while the PM is out, and the stakeholder list.

Settings give the defaults; `/prodsupport` commands store changes in the table, which then win. The
stakeholder list is the weekly-sync invite list the playbook's emails go to.
"""

from __future__ import annotations

import time
from copy import replace
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from prodsupport.core.settings import DEFAULT_TEAM_ID, Settings
from prodsupport.infra import ahead
from prodsupport.infra.dynamo import Table

if TYPE_CHECKING:
    from concurrent.futures import Future

# How long a container trusts the roster it read. Owners and the stakeholder list change by hand and rarely, while
# every declaration, PagerDuty trigger and email request needs them: a change saved through this container is
# seen at once (save refreshes the copy), one saved through another container within this many seconds.
CACHE_SECONDS = 60.0


class Roster(NamedTuple):
    pm_user_id: str = ""
    backup_pm_user_id: str = ""
    pm_out_of_office: bool = False
    stakeholders: tuple[str, ...] = ()
    version: int = 0

    @property
    def email_owner(self) -> str:
        """The PM owns the stakeholder email; the backup does while the PM is out of office."""
        if self.pm_out_of_office and self.backup_pm_user_id:
            return self.backup_pm_user_id
        return self.pm_user_id or self.backup_pm_user_id

    def may_send_email(self, user_id: str, admins: tuple[str, ...]) -> bool:
        return user_id in {self.pm_user_id, self.backup_pm_user_id, *admins} - {""}


@dataclass
class RosterStore:
    """One roster per team; the default team's keeps the key it had before teams, so it is read as it was."""

    table: Table
    settings: Settings
    team: str = DEFAULT_TEAM_ID
    _cached: tuple[float, Roster] | None = field(default=None, init=False, repr=False)
    # A read `read_ahead` started, with when it started (on the monotonic clock, as `_cached`).
    _ahead: tuple[float, Future[Roster]] | None = field(default=None, init=False, repr=False)

    @property
    def _sk(self) -> str:
        return "ROSTER" if self.team == DEFAULT_TEAM_ID else f"ROSTER#{self.team}"

    def current(self) -> Roster:
        """The roster as read at most CACHE_SECONDS ago (on the monotonic clock: staleness is real time),
        counted from when the read started: the one `read_ahead` started is taken (its error raised here, as
        this delivery's own), unless a save or a load since holds a newer copy, which is used without waiting."""
        if self._ahead is not None:
            started_at, started = self._ahead
            self._ahead = None
            if self._cached is None or self._cached[0] < started_at:
                self._cached = (started_at, started.result())
        return self._fresh_copy() or self.load()

    def read_ahead(self) -> None:
        """Start reading the roster, unless the copy is fresh, for a delivery that will need it after its next
        write (a PagerDuty trigger's owner): a read, never an effect (infra/ahead.py)."""
        if self._ahead is None and self._fresh_copy() is None:
            self._ahead = (time.monotonic(), ahead.start(self._read))

    def _fresh_copy(self) -> Roster | None:
        """The copy this container holds, while it is younger than CACHE_SECONDS."""
        if self._cached is not None and time.monotonic() - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        return None

    def drop_ahead(self) -> None:
        """Forget a read started by an earlier invocation (Runtime.begin): one nobody took may have been frozen
        with its container for hours."""
        if self._ahead is not None:
            ahead.drop(self._ahead[1])
            self._ahead = None

    def load(self) -> Roster:
        """Read now: what an edit starts from, since its save is conditional on the version read."""
        roster = self._read()
        self._cached = (time.monotonic(), roster)
        return roster

    def _read(self) -> Roster:
        item = self.table.get("CONFIG", self._sk)
        if not item:
            return Roster(
                pm_user_id=self.settings.pm_user_id,
                backup_pm_user_id=self.settings.backup_pm_user_id,
                pm_out_of_office=self.settings.pm_out_of_office,
                stakeholders=self.settings.stakeholders,
            )
        return Roster(
            pm_user_id=item.get("pm_user_id", ""),
            backup_pm_user_id=item.get("backup_pm_user_id", ""),
            pm_out_of_office=bool(item.get("pm_out_of_office", False)),
            stakeholders=tuple(item.get("stakeholders") or ()),
            version=int(item.get("version", 0)),
        )

    def save(self, roster: Roster) -> Roster:
        """Conditional on the version read, so two admins editing at once cannot lose each other's change."""
        new = replace(roster, version=roster.version + 1)
        item = {
            "pk": "CONFIG",
            "sk": self._sk,
            "team": self.team,
            "pm_user_id": new.pm_user_id,
            "backup_pm_user_id": new.backup_pm_user_id,
            "pm_out_of_office": new.pm_out_of_office,
            "stakeholders": list(new.stakeholders),
            "version": new.version,
        }
        condition = "attribute_not_exists(pk)" if roster.version == 0 else "version = :v"
        self.table.put(item, condition=condition, vals={":v": roster.version} if roster.version else None)
        self._cached = (time.monotonic(), new)
        return new
