"""A small typed face on the DynamoDB low-level client: plain dicts in, plain dicts out.

The low-level client is used rather than the resource API because it loads faster at cold start and
exposes every conditional-write feature the store relies on. A failed condition becomes a domain
exception here, at the adapter, so nothing above this module knows botocore's error shapes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ConditionFailed(Exception):
    """A conditional write lost: the item changed or does not exist as the writer assumed.

    `item` is the item as it stood when the condition failed, when DynamoDB returned it, so a caller can
    tell "no such item" from "already done" without another read. For a transaction, `failed` maps the
    position of each write or check whose condition failed to its item as it stood (None when absent), so
    a caller can tell which condition stopped it, again without a read.
    """

    def __init__(
        self, key: str, item: dict[str, Any] | None = None, failed: Mapping[int, dict[str, Any] | None] | None = None
    ) -> None:
        super().__init__(key)
        self.item = item
        self.failed = dict(failed or {})


def _clean(value: Any) -> Any:
    """Drop None so an absent field is absent in the item, which keeps `attribute_not_exists` honest."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in _clean(dict(item)).items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def values(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_clean(v)) for k, v in mapping.items()}


def _is_condition_failure(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons") or []
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons
    return False


def _expression(
    condition: str | None, names: Mapping[str, str] | None, vals: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A request's condition and its placeholders, each only when given (DynamoDB refuses empty ones)."""
    expression: dict[str, Any] = {}
    if condition:
        expression["ConditionExpression"] = condition
    if names:
        expression["ExpressionAttributeNames"] = dict(names)
    if vals:
        expression["ExpressionAttributeValues"] = values(vals)
    return expression


class PendingWrite(Protocol):
    """A write that waits to go out with the table's next one (a delivery's claim: infra/dedupe.py)."""

    made: bool

    def transact_item(self, table_name: str) -> dict[str, Any]: ...

    def write(self) -> None: ...

    def mark(self) -> dict[str, Any]:
        """The write as an attribute of another item, for a write that carries it itself (`carried`)."""
        ...

    def carried(self, mark: object) -> Exception | None:
        """Given the mark found on an item: the error when it is this very write, made by a delivery still at
        work; None otherwise."""
        ...

    def refused(self, found: Mapping[str, Any] | None) -> Exception:
        """The error for the write found already made (`found`, as it stood), or being made right now (None)."""
        ...


class Table:
    """`pending`: a write that goes out with the next one, in its transaction when that write is a put, or
    just before it otherwise (`settle`); whoever makes an effect outside the table settles it first."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self.pending: PendingWrite | None = None

    def settle(self) -> None:
        """Write the pending write now, on its own (before an effect, or a write that cannot carry it)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.write()

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        item = response.get("Item")
        return deserialize(item) if item else None

    def look(self, pk: str, sk: str) -> dict[str, Any] | None:
        """`get`, unless a write is pending: then a check that the item is absent goes out in the pending write's
        transaction, so one request both makes that write (when the item is absent) and reads the item (when it
        is there, as the refused check returns it, and the pending write waits for the next one)."""
        if self.pending is None:
            return self.get(pk, sk)
        check = {
            "ConditionCheck": {
                "TableName": self.name,
                "Key": serialize({"pk": pk, "sk": sk}),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        try:
            self.client_transact([check])
        except ConditionFailed as found:
            return found.failed.get(0) or self.get(pk, sk)
        return None

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        vals: Mapping[str, Any] | None = None,
    ) -> None:
        if self.pending is not None:  # one transaction instead of two writes
            self.put_all([(item, condition)], names=names, vals=vals)
            return
        try:
            self.client.put_item(TableName=self.name, Item=serialize(item), **_expression(condition, names, vals))
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise ConditionFailed(str(item.get("pk"))) from exc
            raise

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        vals: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.settle()  # a transaction would not return the item
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize({"pk": pk, "sk": sk}),
            "UpdateExpression": expression,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **_expression(condition, names, vals),
        }
        try:
            response = self.client.update_item(**kwargs)
        except ClientError as exc:
            if _is_condition_failure(exc):
                old = exc.response.get("Item")
                raise ConditionFailed(pk, deserialize(old) if old else None) from exc
            raise
        return deserialize(response.get("Attributes", {}))

    def delete(self, pk: str, sk: str, *, condition: str | None = None, vals: Mapping[str, Any] | None = None) -> None:
        self.settle()
        try:
            self.client.delete_item(
                TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), **_expression(condition, None, vals)
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise ConditionFailed(pk) from exc
            raise

    def put_all(
        self,
        items: list[tuple[Mapping[str, Any], str | None]],
        *,
        absent: Sequence[tuple[str, str]] = (),
        names: Mapping[str, str] | None = None,
        vals: Mapping[str, Any] | None = None,
    ) -> None:
        """Put several items in one transaction, each with an optional condition: all or nothing.

        Each (pk, sk) in `absent` must not exist either, so a write can depend on an item it does not write.
        `names` and `vals` serve the conditions that use them, and must be used by every one given.
        """
        expression = _expression(None, names, vals)
        old = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        puts = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": serialize(item),
                    "ConditionExpression": condition,
                    **expression,
                    **old,
                }
            }
            if condition
            else {"Put": {"TableName": self.name, "Item": serialize(item)}}
            for item, condition in items
        ]
        checks = [
            {
                "ConditionCheck": {
                    "TableName": self.name,
                    "Key": serialize({"pk": pk, "sk": sk}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    **old,
                }
            }
            for pk, sk in absent
        ]
        self.client_transact(puts + checks)

    def client_transact(self, transact_items: list[dict[str, Any]]) -> None:
        """A pending write goes last in the transaction: the positions callers read in `failed` stay theirs."""
        pending, self.pending = self.pending, None
        if pending is not None:
            transact_items = [*transact_items, pending.transact_item(self.name)]
            pending.made = True  # until known otherwise: an answer lost after the commit is given back, to be safe
        try:
            # A token makes botocore's own resend of a transaction whose answer was lost a no-op, not a refusal
            # by the claim it carries (which would read as another delivery's).
            self.client.transact_write_items(TransactItems=transact_items, ClientRequestToken=uuid.uuid4().hex)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if pending is not None and len(reasons) == len(transact_items):  # cancelled: nothing was written
                pending.made = False
                mine = reasons[-1]
                if mine.get("Code") == "ConditionalCheckFailed":
                    raise pending.refused(deserialize(mine["Item"]) if mine.get("Item") else {}) from exc
                if mine.get("Code") == "TransactionConflict":  # the same claim being written right now
                    raise pending.refused(None) from exc
                self.pending = pending  # the next write carries it
                reasons = reasons[:-1]
            if _is_condition_failure(exc):
                failed = {
                    position: deserialize(reason["Item"]) if reason.get("Item") else None
                    for position, reason in enumerate(reasons)
                    if reason.get("Code") == "ConditionalCheckFailed"
                }
                raise ConditionFailed("transaction", failed=failed) from exc
            raise

    def query(
        self,
        *,
        index: str | None = None,
        key_condition: str,
        names: Mapping[str, str],
        vals: Mapping[str, Any],
        filter_expression: str | None = None,
        forward: bool = True,
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": dict(names),
            "ExpressionAttributeValues": values(vals),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        while True:
            response = self.client.query(**kwargs)
            for item in response.get("Items", []):
                yield deserialize(item)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last
