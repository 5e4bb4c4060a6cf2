"""Slack's three request URLs: Events API, slash commands, interactivity.

Thin: verify, parse, hand to the router in prodsupport.slack (one use case per request), shape the reply. Slack waits
three seconds, so nothing here does more than the one change and its one or two posts.
"""

from __future__ import annotations

# First, so that the collector is held while everything below loads (prodsupport/coldstart.py).
from prodsupport import coldstart  # isort: skip

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.typing import LambdaContext

from prodsupport import runtime, snapstart
from prodsupport.infra import apigw
from prodsupport.infra import metrics as business_metrics
from prodsupport.slack import requests as slack_requests
from prodsupport.slack.requests import BadRequest

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
# SnapStart (template.yaml): what a thread reply, a command or a declaration imports is in the snapshot.
snapstart.register(
    "prodsupport.slack.events",
    "prodsupport.incident.flows",
    "prodsupport.infra.slack_api",
    # What `slack.events.routes()` loads with the first command or interaction.
    "prodsupport.slack.commands",
    "prodsupport.slack.partner_handlers",
    "prodsupport.slack.postmortem_handlers",
    "prodsupport.slack.pagerduty_handlers",
    "prodsupport.slack.release_handlers",
    "prodsupport.slack.roster_handlers",
)
# Requests by kind, counted whatever their outcome: a flat line here means Slack stopped calling.
ROUTE_METRICS = {
    "/slack/events": "SlackEvents",
    "/slack/commands": "SlackCommands",
    "/slack/interactions": "SlackInteractions",
}


def _body() -> bytes:
    """The raw body Slack signed; the signature middleware has already refused one that is not base64."""
    return apigw.raw_body(app.current_event) or b""


def verify_signature(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every route: a request Slack did not sign within five minutes is a 401 and touches nothing."""
    event = resolver.current_event
    business_metrics.count(ROUTE_METRICS.get(event.path, "SlackOtherRequests"))
    rt = runtime.current()
    body = apigw.bounded_body(event, slack_requests.MAX_BODY_BYTES)
    if isinstance(body, Response):
        return body
    rt.tls_ahead()  # a cold container makes its posts' TLS context while it verifies and loads (infra/ahead.py)
    if slack_requests.is_ssl_check(body):
        return apigw.text(200, "")
    secret = str(rt.slack_secret["signing_secret"])
    if not slack_requests.verify(secret=secret, headers=dict(event.headers), body=body, clock=rt.clock):
        return apigw.signature_rejected(
            "rejected a request with a bad or stale Slack signature",
            "invalid or stale Slack signature",
            path=event.path,
        )
    try:
        return next_middleware(resolver)
    except BadRequest as exc:
        return apigw.text(400, str(exc))


app.use(middlewares=[verify_signature])


@app.post("/slack/events")
def events() -> Response[Any]:
    from prodsupport.slack.events import handle_events_request

    status, body = handle_events_request(runtime.current(), _body(), dict(app.current_event.headers))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/slack/commands")
def commands() -> Response[Any]:
    from prodsupport.slack.events import handle_command_request

    status, body = handle_command_request(runtime.current(), _body(), dict(app.current_event.headers))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/slack/interactions")
def interactions() -> Response[Any]:
    from prodsupport.slack.events import handle_interaction_request

    status, body = handle_interaction_request(runtime.current(), _body(), dict(app.current_event.headers))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        with runtime.current().invocation(context.get_remaining_time_in_millis()):
            return app.resolve(event, context)
    finally:
        coldstart.release()
