"""The email queue's consumer: each SQS record names one email request, sent at most once through SES v2.

Thin: Powertools batch processing reports each failed record in `batchItemFailures`, so one throttled
email is retried without resending the others. "Now" is the runtime's clock when the record is handled:
the moment SES accepts the email is when it was sent, which for a throttled retry is later than the
request (the replay tool and the tests set that clock).
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
    from prodsupport.email.requests import request_id_from_body
    from prodsupport.email.sender import deliver

    business_metrics.count("EmailRequestsHandled")
    try:
        request_id = request_id_from_body(record.body)
    except ValueError:
        logger.exception("dropped a malformed email queue message", message_id=record.message_id)
        return
    logger.append_keys(request_id=request_id)
    rt = runtime.current()
    deliver(rt, request_id, rt.clock())


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    with runtime.current().invocation(context.get_remaining_time_in_millis()):
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
