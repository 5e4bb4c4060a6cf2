"""What every HTTP handler reads from API Gateway and answers it, the same way on every route.

Slack, PagerDuty and GitHub each sign the exact bytes they sent; API Gateway may hand them over base64-encoded.
A body that claims base64 but is not is malformed input, so every route answers it 400 before any signature
check (no signature could match it).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types

from prodsupport.infra import metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

NOT_BASE64 = "body is not valid base64"
logger = Logger(child=True)


def raw_body(event: APIGatewayProxyEventV2) -> bytes | None:
    """The bytes the sender signed, never decoded as text; None when API Gateway's base64 is not base64."""
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        return None


def text(status: int, message: str) -> Response[str]:
    """A plain-text answer: what a sender's delivery log shows a person."""
    return Response(status_code=status, content_type=content_types.TEXT_PLAIN, body=message)


def bounded_body(event: APIGatewayProxyEventV2, max_bytes: int) -> bytes | Response[str]:
    """The signed bytes, or the answer every route gives before any signature check: 400 for a body that is not
    the base64 it claims, 413 for one larger than the route ever needs."""
    body = raw_body(event)
    if body is None:
        return text(400, NOT_BASE64)
    if len(body) > max_bytes:
        return text(413, "body too large")
    return body


def signature_rejected(log_message: str, answer: str, **log_keys: object) -> Response[str]:
    """The 401 for a request its sender did not sign, logged and counted (`SignatureRejections`, which the
    dashboard shows) the same way on every route."""
    logger.warning(log_message, extra=log_keys)
    metrics.count("SignatureRejections")
    return text(401, answer)
