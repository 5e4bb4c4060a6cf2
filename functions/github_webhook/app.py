"""GitHub webhooks: `POST /github/webhook` (pull_request and issues events of the post-mortem repository).

Thin: verify `X-Hub-Signature-256` on the raw body, hand the delivery to prodsupport.postmortem.github_webhook,
shape the answer. A function of its own, not a route on the Slack one: it reads the GitHub secret (the token and the
webhook secrets) and the Slack one needs no GitHub access at all on its hottest paths, so each keeps the narrower
policy; and a flood of GitHub deliveries cannot take the Slack function's concurrency.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from prodsupport import runtime
from prodsupport.infra import apigw
from prodsupport.infra import metrics as business_metrics
from prodsupport.postmortem import github_webhook as webhook

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()


@app.post("/github/webhook")
def github_webhook() -> Response[str]:
    business_metrics.count("GitHubWebhooks")  # every delivery, so the flush is never empty (as PagerDuty's)
    body = apigw.bounded_body(app.current_event, webhook.MAX_BODY_BYTES)
    if isinstance(body, Response):
        return body
    rt = runtime.current()
    if not rt.settings.github_repo:
        return apigw.text(404, "GitHub is not configured for this deployment")
    headers = dict(app.current_event.headers)
    signature = webhook.header(headers, webhook.SIGNATURE_HEADER)
    if not webhook.verify_signature(webhook.webhook_secrets(rt), signature, body):
        return apigw.signature_rejected(
            "rejected a GitHub webhook with a missing or bad signature",
            "invalid GitHub signature (X-Hub-Signature-256)",
            signed=bool(signature),
        )
    try:
        status, answer = webhook.handle(rt, body, headers)
    except webhook.BadWebhook as exc:
        return apigw.text(400, str(exc))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=answer)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with runtime.current().invocation(context.get_remaining_time_in_millis()):
        return app.resolve(event, context)
