"""The Slack outbox's consumer: each SQS record is one message that could not be posted in time.

Thin: Powertools batch processing reports each failed record in `batchItemFailures`, so a message whose
outcome is still unknown is redelivered without reposting the others. The time budget comes from the
context, like every handler's, so a slow Slack cannot carry this function past its own Timeout either.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from prodsupport import runtime
from prodsupport.infra import metrics as business_metrics

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    from prodsupport.incident.card_updates import post_queued

    business_metrics.count("OutboxMessagesHandled")
    try:
        post_queued(runtime.current(), record.body)
    except (ValueError, KeyError, TypeError):
        logger.exception("dropped a malformed outbox message", message_id=record.message_id)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    runtime.current().begin(context.get_remaining_time_in_millis())
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
