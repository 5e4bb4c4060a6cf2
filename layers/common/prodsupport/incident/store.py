"""Incidents in DynamoDB: conditional writes, the sparse due index, and the thread-keyed hot path.

An incident is keyed by its Slack thread because the most frequent event, a human reply in that
thread, must be answerable with one conditional UpdateItem and no read. Full-item saves are guarded
by the version number; a lost race re-reads and re-applies the change, it never overwrites.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from aws_lambda_powertools import Logger

from prodsupport.core.timefmt import to_iso
from prodsupport.incident.model import EmailRecord, EmailState, Incident, Sla, TimelineEntry
from prodsupport.incident.painting import PaintLease
from prodsupport.incident.policy import SlaPolicy
from prodsupport.infra.dynamo import ConditionFailed, Table

logger = Logger(child=True)

INCIDENT = "INCIDENT"
EARLY = "EARLY"
CLAIM = "CLAIM"
DUE_SHARD = "DUE"
OPEN_SHARD = "OPEN"
MAX_ATTEMPTS = 5


class ConflictError(Exception):
    """The incident kept changing under us; the caller reports it instead of overwriting."""


class IncidentNotFound(LookupError):
    pass


def thread_pk(channel_id: str, thread_ts: str) -> str:
    return f"THREAD#{channel_id}#{thread_ts}"


class MessageClaim(NamedTuple):
    """`claim_message`'s answer: who holds the message, its incident if declared, and whether the claimant
    held it already (its own retry)."""

    holder: str
    declared: Incident | None
    again: bool


class Reply(NamedTuple):
    """A human message in a thread, as the hot path needs it."""

    channel_id: str
    thread_ts: str
    at: datetime
    user: str
    text: str


type OnSaved = Callable[[Incident, PaintLease | None], None]
NO_LEASE = {"by": "", "until": ""}  # what a first lease replaces: PaintLease.from_record reads it as None


class IncidentStore:
    """`on_saved` hears of every incident written, as written, with the paint lease its save replaced: whoever
    keeps the card live (the runtime) learns of each change from the one place every change passes, whichever
    surface made it. `lease` gives the lease each change records (incident/painting.py); without one (a script)
    a save keeps the lease it read."""

    def __init__(
        self,
        table: Table,
        policy: SlaPolicy,
        on_saved: OnSaved | None = None,
        lease: Callable[[], PaintLease] | None = None,
    ) -> None:
        self.table = table
        self.policy = policy
        self.on_saved = on_saved
        self.lease = lease
        # id -> (channel, thread) of every incident this container has seen: an id never moves to another
        # thread, so a command naming a known id reads the incident alone, without its id alias first.
        self._threads: dict[str, tuple[str, str]] = {}
        # PagerDuty incident id -> our incident id, from incidents whose record carries the link: the link item
        # and that record are written together and a link is never removed once saved, so it cannot go stale.
        self._paged: dict[str, str] = {}

    def _seen(self, incident: Incident) -> Incident:
        self._threads[incident.id] = (incident.channel_id, incident.thread_ts)
        if incident.pagerduty is not None:
            self._paged[incident.pagerduty.incident_id] = incident.id
        return incident

    def _saved(self, incident: Incident, replaced: PaintLease | None) -> None:
        self._seen(incident)
        if self.on_saved is not None:
            self.on_saved(incident, replaced)

    def _lease_clause(self, vals: dict[str, Any]) -> str:
        """The SET clause that records this invocation's lease in an UpdateItem and keeps the one it replaces
        (`replaced_painting`, returned with the item), for the writes that do not read the incident first."""
        vals[":lease"] = self.lease().to_record() if self.lease is not None else NO_LEASE
        vals[":no_lease"] = NO_LEASE
        return "replaced_painting = if_not_exists(painting, :no_lease), painting = :lease"

    def _take_lease(self, incident: Incident) -> PaintLease | None:
        """Record this invocation's lease on the incident about to be saved; returns the one it replaces."""
        replaced = incident.painting
        if self.lease is not None:
            incident.painting = self.lease()
        return replaced

    def next_sequence(self, kind: str, year: int) -> int:
        """Atomic per-year counter behind `INC-<year>-<seq>` and `REL-<year>-<seq>` ids; each team counts under
        its own prefix (`CHK-<year>-<seq>`), so the default team's `INC` counter goes on where it was."""
        item = self.table.update(
            f"COUNTER#{kind}#{year}",
            "COUNTER",
            "ADD #n :one",
            names={"#n": "n"},
            vals={":one": 1},
        )
        return int(item["n"])

    def _item(self, incident: Incident) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": thread_pk(incident.channel_id, incident.thread_ts),
            "sk": INCIDENT,
            **incident.to_record(),
            "opened_month": incident.opened_at.strftime("%Y-%m"),
        }
        next_check = self.policy.next_check(incident)
        if next_check is not None:
            item["due_shard"] = DUE_SHARD
            item["next_check"] = to_iso(next_check)
        if incident.is_open:
            item["open_shard"] = OPEN_SHARD
        return item

    def create(
        self,
        incident: Incident,
        *,
        also: Sequence[Mapping[str, Any]] = (),
        without_early_reply: bool = False,
        absent: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Store a new incident and its id alias together; a second declaration of the same thread fails.

        `also` are items that must appear with the incident or not at all (a PagerDuty link), each new.
        `without_early_reply`: the declaration found no early reply, so it fails if one was noted since.
        `absent`: other (pk, sk) that must not exist either (a PagerDuty acknowledgement noted before the link).
        """
        incident.version = 1
        self._take_lease(incident)
        early = [(thread_pk(incident.channel_id, incident.thread_ts), EARLY)] if without_early_reply else []
        early.extend(absent)
        self.table.put_all(
            [
                (self._item(incident), "attribute_not_exists(pk)"),
                (
                    {
                        "pk": f"INC#{incident.id}",
                        "sk": "ID",
                        "channel_id": incident.channel_id,
                        "thread_ts": incident.thread_ts,
                    },
                    "attribute_not_exists(pk)",
                ),
                *((item, "attribute_not_exists(pk)") for item in also),
            ],
            absent=early,
        )
        self._saved(incident, None)

    def get(self, channel_id: str, thread_ts: str) -> Incident | None:
        item = self.table.get(thread_pk(channel_id, thread_ts), INCIDENT)
        return self._seen(Incident.from_record(item)) if item else None

    def get_by_id(self, incident_id: str) -> Incident | None:
        known = self._threads.get(incident_id)
        if known is not None:
            incident = self.get(*known)
            if incident is not None and incident.id == incident_id:
                return incident
        alias = self.table.get(f"INC#{incident_id}", "ID")
        if not alias:
            return None
        return self.get(alias["channel_id"], alias["thread_ts"])

    def get_seen_linked(self, pagerduty_id: str) -> Incident | None:
        """The incident linked to a PagerDuty incident, when this container has seen it linked: one read, no
        link item; None means "look the link up", never "not linked"."""
        incident_id = self._paged.get(pagerduty_id)
        threads = self._threads.get(incident_id) if incident_id else None
        if threads is None:
            return None
        incident = self.get(*threads)
        if incident is None or incident.pagerduty is None or incident.pagerduty.incident_id != pagerduty_id:
            return None
        return incident

    def get_by_message(self, channel_id: str, ts: str) -> Incident | None:
        """The incident a message belongs to: its thread root, or the bot's card posted inside the thread."""
        incident = self.get(channel_id, ts)
        if incident:
            return incident
        alias = self.table.get(thread_pk(channel_id, ts), "ALIAS")
        return self.get(channel_id, alias["target_ts"]) if alias else None

    @staticmethod
    def card_alias(incident: Incident, card_ts: str) -> dict[str, Any]:
        """The item that finds the incident from its card posted inside the thread (`get_by_message`), to be
        written with the save that sets `card_ts` (`save(also=...)`)."""
        return {"pk": thread_pk(incident.channel_id, card_ts), "sk": "ALIAS", "target_ts": incident.thread_ts}

    def save(self, incident: Incident, *, also: Sequence[Mapping[str, Any]] = ()) -> Incident:
        """Replace the stored incident if nobody changed it since it was read; `also` are items written with
        it in one transaction, or not at all."""
        replaced = self._take_lease(incident)
        try:
            self.reindex(incident, also=also)
        except ConditionFailed:
            incident.painting = replaced
            raise
        self._saved(incident, replaced)
        return incident

    def reindex(self, incident: Incident, *, also: Sequence[Mapping[str, Any]] = ()) -> Incident:
        """`save` for an incident that did not change but for its place on the due index (the checker moving
        one the hot path left stale): nothing people see moved, so `on_saved` is not told."""
        expected = incident.version
        incident.version = expected + 1
        condition = "#v = :expected"
        names = {"#v": "version"}
        vals = {":expected": expected}
        try:
            if also:
                self.table.put_all(
                    [(self._item(incident), condition), *((item, None) for item in also)], names=names, vals=vals
                )
            else:
                self.table.put(self._item(incident), condition=condition, names=names, vals=vals)
        except ConditionFailed:
            incident.version = expected
            raise
        return incident

    def mutate[R](
        self,
        channel_id: str,
        thread_ts: str,
        change: Callable[[Incident], R],
        *,
        read: Incident | None = None,
        also: Callable[[R], Sequence[Mapping[str, Any]]] | None = None,
    ) -> tuple[Incident, R]:
        """Read, change, save; on a lost race read again and re-apply, so no concurrent update is lost.

        `read` is the incident as this request just read it: the first attempt starts from (a copy of) it
        instead of reading again, and is still conditional on its version, so a change made meanwhile only
        costs the re-read it would have cost anyway. `also` gives, from the change's result, items saved
        with it (`save`).
        """
        for attempt in range(MAX_ATTEMPTS):
            incident = copy.deepcopy(read) if attempt == 0 and read is not None else self.get(channel_id, thread_ts)
            if incident is None:
                raise IncidentNotFound(thread_pk(channel_id, thread_ts))
            result = change(incident)
            try:
                return self.save(incident, also=also(result) if also else ()), result
            except ConditionFailed:
                continue
        raise ConflictError(f"incident in thread {thread_ts} kept changing; gave up after {MAX_ATTEMPTS} tries")

    def record_reply(self, reply: Reply) -> tuple[Incident | None, bool]:
        """The hot path: the first human reply meets the Slack ack, in one conditional write.

        Returns (incident, True) when this reply was the acknowledgement, (incident, False) when the
        incident was already acknowledged, and (None, False) when the thread has no incident. The due
        index is left as it is: the checker drops a met deadline the next time it looks, which keeps
        this path to a single request.
        """
        entry = TimelineEntry(reply.at, "acknowledged", reply.user, reply.text[:500])
        vals: dict[str, Any] = {":at": to_iso(reply.at), ":entry": [entry.to_record()], ":one": 1}
        expression = (
            f"SET deadlines.#ack.met_at = :at, timeline = list_append(timeline, :entry), {self._lease_clause(vals)}"
        )
        # The delivery's claim (infra/dedupe.py) rides on the ack itself: the hot path stays one write.
        claim, self.table.pending = self.table.pending, None
        if claim is not None:
            expression += ", ack_delivery = :delivery"
            vals[":delivery"] = claim.mark()
        try:
            item = self.table.update(
                thread_pk(reply.channel_id, reply.thread_ts),
                INCIDENT,
                expression + " ADD #v :one",
                condition="attribute_exists(deadlines.#ack) AND attribute_not_exists(deadlines.#ack.met_at)",
                names={"#ack": Sla.SLACK_ACK.value, "#v": "version"},
                vals=vals,
            )
        except ConditionFailed as lost:
            if claim is not None:
                self.table.pending = claim  # not made: whatever this delivery does next carries it
                if lost.item and (running := claim.carried(lost.item.get("ack_delivery"))):
                    raise running from None  # this very reply's first delivery is still at work
            if lost.item and lost.item.get("sk") == INCIDENT:
                return Incident.from_record(lost.item), False
            return None, False
        acknowledged = Incident.from_record(item)
        self._saved(acknowledged, PaintLease.from_record(item.get("replaced_painting")))
        return acknowledged, True

    def record_email_outcome(
        self,
        channel_id: str,
        thread_ts: str,
        request: EmailRecord,
        outcome: EmailState,
        at: datetime,
        *,
        message_id: str = "",
        error: str = "",
        sent_note: str = "",
        clock: bool = False,
    ) -> Incident:
        """The email sender's record on the incident (`Incident.record_email_outcome`) in one conditional write
        that returns the incident, so the sender needs no read and the card is painted from what was written.

        An incident's emails are numbered from 1 in the order asked for (`Incident.request_email`), so the
        request id names its record's place in the list; the write holds only while that place has the record,
        its outcome is not yet this one, and the stakeholder-email clock is there (`clock`) or not, as the
        request expected: a sent email meets the clock in the same write when there is one. Anything else (an
        outcome already recorded, a clock added or dropped since, a record elsewhere or missing) is settled
        from the item the refused write returns: an outcome already recorded changes nothing, the rest goes
        through `mutate` from that item, with no read either. The version is added to, so a save started from
        an earlier read fails and re-reads; the due index is left as it is, as `record_reply` leaves it.
        Raises IncidentNotFound when the thread has no incident.
        """

        def change(current: Incident) -> None:
            current.record_email_outcome(request, outcome, at, message_id=message_id, error=error, sent_note=sent_note)

        position = self._email_position(request.request_id)
        if position is None:
            return self.mutate(channel_id, thread_ts, change)[0]
        record = f"emails[{position}]"
        sent = outcome is EmailState.SENT
        entry = (
            TimelineEntry(at, "email_sent", request.requested_by, sent_note)
            if sent
            else TimelineEntry(at, f"email_{outcome.value}", "prodsupport", error)
        )
        expression = (
            f"SET {record}.#state = :outcome, {record}.message_id = :message_id, {record}.#error = :error, "
            "timeline = list_append(timeline, :entry)"
        )
        condition = f"{record}.request_id = :request_id AND {record}.#state <> :outcome"
        names = {"#state": "state", "#error": "error", "#v": "version"}
        vals: dict[str, Any] = {
            ":outcome": outcome.value,
            ":message_id": message_id,
            ":error": error,
            ":entry": [entry.to_record()],
            ":request_id": request.request_id,
            ":one": 1,
        }
        if sent:
            expression += f", {record}.sent_at = :at"
            vals[":at"] = to_iso(at)
            names["#email"] = Sla.STAKEHOLDER_EMAIL.value
            if clock:
                expression += ", deadlines.#email.met_at = if_not_exists(deadlines.#email.met_at, :at)"
                condition += " AND attribute_exists(deadlines.#email)"
            else:
                condition += " AND attribute_not_exists(deadlines.#email)"
        expression += f", {self._lease_clause(vals)}"
        try:
            item = self.table.update(
                thread_pk(channel_id, thread_ts),
                INCIDENT,
                expression + " ADD #v :one",
                condition=condition,
                names=names,
                vals=vals,
            )
        except ConditionFailed as refused:
            if not refused.item or refused.item.get("sk") != INCIDENT:
                raise IncidentNotFound(thread_pk(channel_id, thread_ts)) from None
            stood = self._seen(Incident.from_record(refused.item))
            known = next((e for e in stood.emails if e.request_id == request.request_id), None)
            if known is not None and known.state == outcome:
                return stood
            return self.mutate(channel_id, thread_ts, change, read=stood)[0]
        recorded = Incident.from_record(item)
        self._saved(recorded, PaintLease.from_record(item.get("replaced_painting")))
        return recorded

    @staticmethod
    def _email_position(request_id: str) -> int | None:
        """The list index of a stakeholder email's record, from its id `<incident id>-<n>`; None for another id."""
        number = request_id.rsplit("-", 1)[-1]
        return int(number) - 1 if number.isdigit() and int(number) > 0 else None

    def note_early_reply(self, reply: Reply, ttl: timedelta) -> bool:
        """A reply to a thread with no incident yet, kept briefly: its declaration may still be in flight.

        Written only while the thread still has no incident (one transaction), so a declaration that lands
        between the reply's first look and this note is never missed: the note fails and the caller records
        the reply as an ack after all. False when nothing was noted (that, or an earlier reply is noted).
        """
        pk = thread_pk(reply.channel_id, reply.thread_ts)
        try:
            self.table.put_all(
                [
                    (
                        {
                            "pk": pk,
                            "sk": EARLY,
                            "at": to_iso(reply.at),
                            "user": reply.user,
                            "text": reply.text[:500],
                            "expires_at": int((reply.at + ttl).timestamp()),
                        },
                        "attribute_not_exists(pk) OR #at > :at",
                    )
                ],
                absent=[(pk, INCIDENT)],
                names={"#at": "at"},
                vals={":at": to_iso(reply.at)},
            )
        except ConditionFailed:
            return False
        return True

    def claim_message(self, channel_id: str, ts: str, claimant: str, now: datetime, hold: timedelta) -> MessageClaim:
        """Who declares the incident of a message: the first to claim it, before any id is taken or card posted.

        An alert and a person's message shortcut on the same message may be handled at once; without a claim
        both would take an id and post a card. The claim is taken only while there is none and no incident (one
        transaction), and a refusal returns both items as they stood, so the declaration needs no read of its
        own. The claimant's own retries keep the claim; a claim not turned into an incident within `hold` (its
        declaration failed for good) is taken over, with a second write on that rare path only. Either way the
        answer says `again`: a card may already hang under the message from an earlier attempt. A message with
        an incident is not claimed again; the holder named then is whoever would have held the claim.
        """
        pk = thread_pk(channel_id, ts)
        claim = {"pk": pk, "sk": CLAIM, "claimant": claimant, "held_until": to_iso(now + hold)}
        try:
            self.table.put_all([(claim, "attribute_not_exists(pk)")], absent=[(pk, INCIDENT)])
        except ConditionFailed as refused:
            if refused.failed:  # the claim's own condition held unless it is among those that failed
                held, declared = refused.failed.get(0), refused.failed.get(1)
            else:  # no reasons given: read what stood
                held, declared = self.table.get(pk, CLAIM), self.table.get(pk, INCIDENT)
            incident = self._seen(Incident.from_record(declared)) if declared else None
            if held is None:
                return MessageClaim(claimant, incident, False)
            holder = str(held.get("claimant", ""))
            if holder != claimant and incident is None and str(held.get("held_until", "")) < to_iso(now):
                return self._take_over(claim, held)
            return MessageClaim(holder, incident, holder == claimant)
        return MessageClaim(claimant, None, False)

    def _take_over(self, claim: dict[str, Any], held: dict[str, Any]) -> MessageClaim:
        """A claim whose declaration failed for good, taken over while it is still the one read and no incident
        came since; whoever wins a race for it declares, and finds the card the failed attempt left, if any."""
        try:
            self.table.put_all(
                [(claim, "claimant = :was AND held_until = :until")],
                absent=[(str(claim["pk"]), INCIDENT)],
                vals={":was": held.get("claimant", ""), ":until": held.get("held_until", "")},
            )
        except ConditionFailed as refused:
            stood = self.table.get(str(claim["pk"]), CLAIM)
            declared = refused.failed.get(1)
            incident = self._seen(Incident.from_record(declared)) if declared else None
            return MessageClaim(str((stood or {}).get("claimant", "")), incident, False)
        return MessageClaim(str(claim["claimant"]), None, True)

    def early_reply(self, channel_id: str, thread_ts: str) -> dict[str, Any] | None:
        return self.table.get(thread_pk(channel_id, thread_ts), EARLY)

    def due(self, until: datetime, *, on_corrupt: Callable[[str], None] | None = None) -> Iterator[Incident]:
        """Incidents owed something by `until`: a query on the sparse index, never a scan.

        An item that no longer reads as an incident (hand-edited, or written by an older release) is logged
        with its key, reported to `on_corrupt` and skipped, so it cannot stop the checker for every other one.
        """
        for item in self.table.query(
            index="due",
            key_condition="due_shard = :shard AND next_check <= :until",
            names={},
            vals={":shard": DUE_SHARD, ":until": to_iso(until)},
        ):
            try:
                incident = Incident.from_record(item)
            except Exception:
                key = f"{item.get('pk')}/{item.get('sk')}"
                logger.exception("skipped an item on the due index that is not a readable incident", key=key)
                if on_corrupt is not None:
                    on_corrupt(key)
                continue
            yield incident

    def open_incidents(self) -> list[Incident]:
        return [
            Incident.from_record(item)
            for item in self.table.query(
                index="open",
                key_condition="open_shard = :shard",
                names={},
                vals={":shard": OPEN_SHARD},
            )
        ]

    def opened_between(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents opened in [start, end), month partition by month, for the compliance report."""
        months: list[str] = []
        cursor = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while cursor < end:
            months.append(cursor.strftime("%Y-%m"))
            cursor = (cursor + timedelta(days=32)).replace(day=1)
        found: list[Incident] = []
        for month in months:
            found.extend(
                Incident.from_record(item)
                for item in self.table.query(
                    index="opened",
                    key_condition="opened_month = :m AND opened_at BETWEEN :start AND :end",
                    names={},
                    vals={":m": month, ":start": to_iso(start), ":end": to_iso(end)},
                )
                if item["opened_at"] < to_iso(end)
            )
        return found
