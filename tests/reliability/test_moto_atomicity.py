"""The local DynamoDB is as atomic as the real one: racing conditional writes from separate processes have
exactly one winner.

moto alone lets two of twenty racing conditional UpdateItems win; a race test of the application would then
fail (or pass) by moto's luck. Each writer is its own process with its own client, as each Lambda container
is, and a barrier releases them together for every round.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

import boto3
from botocore.exceptions import ClientError

from prodsupport_local.emulator.aws import REGION
from prodsupport_local.emulator.stack import LocalStack

# Without the serializing lock, 16 writers made a round with two winners in 2 of 3 runs; 8 or 12 rarely did.
WRITERS = 16
ROUNDS = 10


def _race(endpoint: str, table: str, writer: int, barrier: Any, answer: Connection) -> None:
    """One writer: in each round, claim the round's item unless someone already has."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    won: list[int] = []
    for round_number in range(ROUNDS):
        barrier.wait()
        try:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": f"RACE#{round_number}"}, "sk": {"S": "CLAIM"}},
                UpdateExpression="SET winner = :me",
                ConditionExpression="attribute_not_exists(winner)",
                ExpressionAttributeValues={":me": {"N": str(writer)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        else:
            won.append(round_number)
    answer.send(won)
    answer.close()


def test_racing_conditional_updates_from_separate_processes_have_one_winner_per_round(stack: LocalStack) -> None:
    # GIVEN writers in separate processes, each with its own client on the stack's table
    table = stack.template.tables()[0].logical_id
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS, timeout=120)
    pipes = [context.Pipe(duplex=False) for _ in range(WRITERS)]
    workers = [
        context.Process(target=_race, args=(stack.aws.endpoint_url, table, writer, barrier, sender), daemon=True)
        for writer, (_, sender) in enumerate(pipes)
    ]

    # WHEN, round after round, all of them write the same item at once, only if nobody has
    for worker in workers:
        worker.start()
    wins: list[int] = []
    for worker, (receiver, sender) in zip(workers, pipes, strict=True):
        sender.close()
        assert receiver.poll(180), f"{worker.name} did not finish"
        wins.extend(receiver.recv())
        worker.join(timeout=10)

    # THEN every round had exactly one winner
    assert sorted(wins) == list(range(ROUNDS))
