"""PagerDuty webhooks V3: `POST /pagerduty/webhook`.

Thin: verify the signature on the raw body, hand the delivery to prodsupport.pagerduty.flows, shape the
answer. PagerDuty waits five seconds and retries a 5xx or a timeout, but drops a 4xx for good and disables
a subscription after repeated failures, so anything well signed and readable is answered 202, including
event types this service ignores.
"""

from __future__ import annotations

# First, so that the collector is held while everything below loads (prodsupport/coldstart.py).
from prodsupport import coldstart  # isort: skip

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from prodsupport import runtime, snapstart
from prodsupport.infra import apigw
from prodsupport.infra import metrics as business_metrics
from prodsupport.pagerduty import webhook as pagerduty

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
# SnapStart (template.yaml): the use cases and the Slack client every delivery imports are in the snapshot.
snapstart.register("prodsupport.pagerduty.flows", "prodsupport.infra.slack_api")


@app.post("/pagerduty/webhook")
def webhook() -> Response[str]:
    business_metrics.count("PagerDutyWebhooks")
    body = apigw.bounded_body(app.current_event, pagerduty.MAX_BODY_BYTES)
    if isinstance(body, Response):
        return body
    rt = runtime.current()
    rt.tls_ahead()  # a cold container makes its posts' TLS context while it loads and verifies (infra/ahead.py)
    from prodsupport.pagerduty import flows as pagerduty_flow

    headers = dict(app.current_event.headers)
    signature = pagerduty.header(headers, pagerduty.SIGNATURE_HEADER)
    if not pagerduty.verify_signature(pagerduty_flow.webhook_secrets(rt), signature, body):
        return apigw.signature_rejected(
            "rejected a PagerDuty webhook with a missing or bad signature",
            "invalid PagerDuty signature (X-PagerDuty-Signature)",
            signed=bool(signature),
        )
    try:
        status, answer = pagerduty_flow.handle_webhook(rt, body, headers)
    except pagerduty.BadWebhook as exc:
        return apigw.text(400, str(exc))
    _count_event(answer)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=answer)


def _count_event(answer: str) -> None:
    """PagerDuty events by type and outcome, read from the answer this function itself just wrote."""
    parsed = json.loads(answer)
    if "event_type" in parsed:
        metrics.add_dimension(name="event_type", value=str(parsed["event_type"]))
        metrics.add_dimension(name="outcome", value=str(parsed.get("status", "")))
        business_metrics.count("PagerDutyEvents")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        with runtime.current().invocation(context.get_remaining_time_in_millis()):
            return app.resolve(event, context)
    finally:
        coldstart.release()
