"""The API Gateway HTTP API payload 2.0 translation, both ways, as pure functions."""

import base64
import json
from datetime import UTC, datetime

import pytest

from prodsupport_local.emulator.apigw import event_body, gateway_error, http_api_event, lambda_response

NOW = datetime(2026, 11, 27, 14, 5, 0, 123000, tzinfo=UTC)
FORM = b"command=%2Fincident&text=critical+Check-in+down&user_id=U1"


def event(headers: dict[str, str] | list[tuple[str, str]], body: bytes = b"", path: str = "/slack/events") -> dict:
    return http_api_event("POST", path, headers, body, NOW, route_key="POST /slack/events", request_id="req-1")


def test_event_has_the_route_and_the_raw_path() -> None:
    built = event({"Content-Type": "application/json"}, b"{}")
    assert (built["version"], built["routeKey"], built["rawPath"]) == ("2.0", "POST /slack/events", "/slack/events")
    assert built["requestContext"]["routeKey"] == "POST /slack/events"
    assert built["requestContext"]["stage"] == "$default"


def test_request_context_carries_method_path_source_ip_and_time() -> None:
    context = event({})["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/slack/events"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["timeEpoch"] == 1795788300123
    assert context["time"] == "27/Nov/2026:14:05:00 +0000"
    assert context["requestId"] == "req-1"


def test_header_names_are_lower_cased() -> None:
    headers = event({"X-Slack-Signature": "v0=abc", "Content-Type": "application/json"}, b"{}")["headers"]
    assert headers["x-slack-signature"] == "v0=abc"
    assert "X-Slack-Signature" not in headers


def test_repeated_headers_are_joined_with_commas() -> None:
    headers = event([("Accept", "text/html"), ("accept", "application/json")])["headers"]
    assert headers["accept"] == "text/html,application/json"


def test_cookies_move_out_of_the_headers() -> None:
    built = event({"Cookie": "a=1; b=2"})
    assert built["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in built["headers"]


def test_json_body_is_passed_as_text() -> None:
    built = event({"Content-Type": "application/json; charset=utf-8"}, b'{"type":"url_verification"}')
    assert built["isBase64Encoded"] is False
    assert built["body"] == '{"type":"url_verification"}'


def test_form_body_is_base64_encoded_as_api_gateway_does() -> None:
    built = event({"Content-Type": "application/x-www-form-urlencoded"}, FORM)
    assert built["isBase64Encoded"] is True
    assert base64.b64decode(built["body"]) == FORM


def test_body_without_content_type_is_base64_encoded() -> None:
    assert event({}, b"hello")["isBase64Encoded"] is True


def test_text_body_that_is_not_utf8_is_base64_encoded() -> None:
    built = event({"Content-Type": "text/plain"}, b"\xff\xfe")
    assert built["isBase64Encoded"] is True


def test_empty_body_is_absent() -> None:
    built = event({"Content-Type": "application/json"})
    assert "body" not in built
    assert built["isBase64Encoded"] is False


def test_event_body_recovers_the_raw_bytes() -> None:
    assert event_body(event({"Content-Type": "application/x-www-form-urlencoded"}, FORM)) == FORM
    assert event_body(event({"Content-Type": "application/json"}, b"{}")) == b"{}"


def test_query_string_is_raw_and_parsed_with_repeats_joined() -> None:
    built = event({}, path="/slack/events?a=1&a=2&b=")
    assert built["rawPath"] == "/slack/events"
    assert built["rawQueryString"] == "a=1&a=2&b="
    assert built["queryStringParameters"] == {"a": "1,2", "b": ""}


def test_response_with_status_code_is_used_as_given() -> None:
    response = lambda_response({"statusCode": 401, "headers": {"Content-Type": "text/plain"}, "body": "no"})
    assert response == (401, {"content-type": "text/plain"}, b"no")


def test_base64_response_body_is_decoded() -> None:
    encoded = base64.b64encode(b"\x00\x01").decode()
    assert lambda_response({"statusCode": 200, "body": encoded, "isBase64Encoded": True}).body == b"\x00\x01"


def test_response_cookies_become_set_cookie() -> None:
    assert lambda_response({"statusCode": 200, "cookies": ["a=1"]}).headers["set-cookie"] == "a=1"


def test_response_without_status_code_is_a_200_json_body() -> None:
    response = lambda_response({"challenge": "abc"})
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body) == {"challenge": "abc"}


def test_plain_string_response_is_the_body_itself() -> None:
    assert lambda_response("Hello from Lambda!").body == b"Hello from Lambda!"


@pytest.mark.parametrize(
    "result", [{"statusCode": "abc"}, {"statusCode": None}, {"statusCode": 200, "body": "%%", "isBase64Encoded": True}]
)
def test_malformed_response_is_a_gateway_500(result: dict) -> None:
    assert lambda_response(result).status == 500


def test_gateway_errors_carry_api_gateways_message() -> None:
    assert json.loads(gateway_error(404).body) == {"message": "Not Found"}
    assert json.loads(gateway_error(500).body) == {"message": "Internal Server Error"}
