"""An HTTP request <-> an API Gateway HTTP API Lambda proxy exchange, payload format 2.0, as two pure functions.

What the handlers receive locally must be what they receive behind API Gateway, or a test can pass here and
the deployed function fail. The details that matter, from AWS's documentation of payload format 2.0 and
checked against real API Gateway by others (the docs do not list which content types count as binary):

- header names are lower-cased; repeated headers are joined with commas; `Cookie` headers move to
  `cookies`; repeated query parameters are joined with commas in `queryStringParameters`;
- the body is passed as text only for `text/*`, `application/json`, `application/xml` and
  `application/javascript`; anything else, including a missing Content-Type and
  `application/x-www-form-urlencoded` (every Slack slash command and interaction), arrives base64-encoded
  with `isBase64Encoded: true`;
- a response with a `statusCode` is used as given (`isBase64Encoded` decodes the body, `cookies` become
  `set-cookie`); any other JSON value is taken as the body of a 200 `application/json` answer (a string
  as-is, anything else serialised).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

ACCOUNT_ID = "123456789012"
API_ID = "local"
DOMAIN_NAME = "localhost"
INTERNAL_SERVER_ERROR = 500

_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_GATEWAY_MESSAGES = {
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

type Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class HttpResponse(NamedTuple):
    """What the client gets: status, lower-cased headers, raw body."""

    status: int
    headers: dict[str, str]
    body: bytes


def is_text_content_type(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this Content-Type as text (else it base64-encodes it)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_TYPES


def http_api_event(
    method: str,
    path: str,
    headers: Headers,
    body: bytes,
    now: datetime,
    *,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event API Gateway sends for this request.

    `path` may carry a query string. `route_key` is the matched route (`"POST /slack/events"`); without one
    the event is what the `$default` route would get. `now` is the request time (`requestContext.timeEpoch`).
    """
    url = urlsplit(path)
    raw_path = url.path or "/"
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in _header_items(headers):
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    if body and "content-length" not in merged:
        merged["content-length"] = str(len(body))
    merged.setdefault("host", DOMAIN_NAME)
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-port", "443")
    merged.setdefault("x-forwarded-proto", "https")

    at = now.astimezone(UTC)
    route = route_key or "$default"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": raw_path,
        "rawQueryString": url.query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": DOMAIN_NAME,
            "domainPrefix": DOMAIN_NAME,
            "http": {
                "method": method.upper(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route,
            "stage": "$default",
            "time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(at.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if url.query:
        query: dict[str, str] = {}
        for name, value in parse_qsl(url.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text = _as_text(body) if is_text_content_type(merged.get("content-type")) else None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def event_body(event: Mapping[str, Any]) -> bytes:
    """The raw request body of a payload 2.0 event (the inverse of what `http_api_event` encoded)."""
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")


def lambda_response(result: Any) -> HttpResponse:
    """Interpret a handler's return value the way API Gateway does for payload format 2.0."""
    if isinstance(result, Mapping) and "statusCode" in result:
        try:
            return _structured_response(result)
        except (TypeError, ValueError):
            return gateway_error(INTERNAL_SERVER_ERROR)
    try:
        body = result if isinstance(result, str) else json.dumps(result)
    except (TypeError, ValueError):
        return gateway_error(INTERNAL_SERVER_ERROR)
    return HttpResponse(200, {"content-type": "application/json"}, body.encode("utf-8"))


def gateway_error(status: int) -> HttpResponse:
    """API Gateway's own answer when there is no route or the function failed: `{"message": ...}`."""
    message = _GATEWAY_MESSAGES.get(status, "Error")
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps({"message": message}).encode())


def _structured_response(result: Mapping[str, Any]) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int | str):
        raise TypeError("statusCode must be a number")
    headers = {str(name).lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    cookies = result.get("cookies") or []
    if cookies:
        headers["set-cookie"] = ", ".join(str(cookie) for cookie in cookies)
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(str(raw), validate=True)
    else:
        body = str(raw).encode("utf-8")
    return HttpResponse(int(status), headers, body)


def _header_items(headers: Headers) -> Iterable[tuple[str, str]]:
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return headers


def _as_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None
