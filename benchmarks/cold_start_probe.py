"""What a fresh Lambda interpreter does before (and while) serving its first events, timed from inside.

Run through probes.py (by cold_init.py, memory.py and warm_latency.py) in a new interpreter with the
function's environment, never imported by them. What this file imports before the clock starts (json,
importlib, resource, sys, time, typing) is the same for every mode, so all are timed from the same point.

    cold_start_probe.py baseline
        `import boto3; boto3.client("dynamodb")`.
    cold_start_probe.py floor_response
        The baseline, then one DynamoDB PutItem and one HTTP POST (urllib, as slack_sdk posts; `ssl` is
        imported as for HTTPS): the least any function that writes once and answers once pays for its whole
        first response.
    cold_start_probe.py events SPEC EVENTS_FILE
        The init: load the handler module from its CodeUri (as the Lambda runtime does) and build the
        clients its first event needs, without a request (see cold_init.py for exactly what). Then invoke
        the handler with each event of the JSON file ([{"at": ISO, "event": {...}}]) in turn, the
        runtime's clock reading each event's moment. An empty file times the init alone.
    cold_start_probe.py floor SPEC
        The third-party part of the init alone: the same Powertools, boto3 and slack_sdk objects built
        directly, with no prodsupport code; the least any implementation on these libraries pays.

SPEC is JSON: {"module": path, "name": module name, "handler", "function", "builds": [...], "floor": [...]}.
The probe's last line is `PROBE {json}`: init_ms, event_ms (one per event) and max_rss_kb (this process's
peak RSS); the function's own logs come before it.
"""

import importlib.util
import json
import resource
import sys
import time
from types import ModuleType
from typing import Any


class LambdaContext:
    """The attributes Powertools reads from the Lambda runtime's context."""

    def __init__(self, function_name: str, request: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = f"probe-{request}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "probe"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class EventClock:
    """ "Now" is the moment of the event being handled: the benchmarks' timeline is virtual, as it is on the
    local stack, so every run decides the same (business hours, the replay window, Slack's signature age)."""

    def __init__(self) -> None:
        self._at: Any = None

    def set(self, at: str) -> None:
        from prodsupport.core.timefmt import parse_iso

        self._at = parse_iso(at)

    def __call__(self) -> Any:
        return self._at


def load(spec: dict[str, Any]) -> ModuleType:
    found = importlib.util.spec_from_file_location(spec["name"], spec["module"])
    if found is None or found.loader is None:
        raise SystemExit(f"cannot load {spec['module']}")
    module = importlib.util.module_from_spec(found)
    sys.modules[spec["name"]] = module
    found.loader.exec_module(module)
    return module


def build_clients(spec: dict[str, Any]) -> None:
    """The runtime's own constructors, so the probe builds exactly what a first request would."""
    from prodsupport import runtime

    rt = runtime.current()
    for name in spec["builds"]:
        if name == "slack":
            from prodsupport.infra.slack_api import make_client

            # The real token is in the Slack secret; reading it is a request, so a stand-in is used.
            make_client(
                token="xoxb-cold-start-probe",  # noqa: S106 - not a secret
                base_url=rt.settings.slack_api_url,
                backoff_seconds=rt.settings.slack_retry_backoff_seconds,
                budget=rt.budget,
            )
        elif name == "secrets":
            rt._secrets  # Powertools' provider on the runtime's Secrets Manager client  # noqa: B018
        elif name == "table":
            rt.table  # noqa: B018
        else:
            rt.client(name)


def build_floor(spec: dict[str, Any]) -> None:
    """The libraries alone: what the function's init and clients construct, with none of prodsupport."""
    import boto3
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    Logger()
    for piece in spec["floor"]:
        if piece == "http":
            from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

            APIGatewayHttpResolver()
        elif piece == "signature":
            from slack_sdk.signature import SignatureVerifier

            SignatureVerifier("probe")
        elif piece == "metrics":
            from aws_lambda_powertools import Metrics

            Metrics()
        elif piece == "batch":
            from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

            BatchProcessor(event_type=EventType.SQS)
    boto3.client("dynamodb")
    SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    for name in spec["builds"]:
        if name not in ("table", "secrets", "slack"):
            boto3.client(name)
    if "slack" in spec["builds"]:
        from slack_sdk import WebClient

        WebClient(token="xoxb-cold-start-probe")  # noqa: S106 - not a secret


def floor_response(dynamodb: Any) -> None:
    """One write to the function's table and one POST to its Slack API, as its first event would make."""
    import os
    import ssl  # noqa: F401 - slack_sdk's client imports it for HTTPS; the local Slack API is plain HTTP
    import urllib.request

    dynamodb.put_item(
        TableName=os.environ["PRODSUPPORT_TABLE_NAME"],
        Item={"pk": {"S": "PROBE#floor"}, "sk": {"S": "PROBE"}, "at": {"S": str(time.time())}},
    )
    request = urllib.request.Request(  # noqa: S310 - the local Slack API's URL, from the environment
        os.environ["PRODSUPPORT_SLACK_API_URL"] + "auth.test",
        data=b"{}",
        headers={"Content-Type": "application/json; charset=utf-8", "Authorization": "Bearer xoxb-probe"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - as above
        answer.read()


def main() -> None:
    mode = sys.argv[1]
    spec = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    events: list[dict[str, Any]] = []
    if mode == "events":
        with open(sys.argv[3], encoding="utf-8") as handle:
            events = json.load(handle)
    started = time.perf_counter()
    if mode in ("baseline", "floor_response"):
        import boto3

        dynamodb = boto3.client("dynamodb")
        if mode == "floor_response":
            floor_response(dynamodb)
    elif mode == "floor":
        build_floor(spec)
    else:
        module = load(spec)
        build_clients(spec)
    init_ms = 1000 * (time.perf_counter() - started)
    event_ms = []
    clock = EventClock()
    if events:
        from prodsupport import runtime

        runtime.current().clock = clock
    for index, item in enumerate(events):
        clock.set(item["at"])
        started = time.perf_counter()
        result = getattr(module, spec["handler"])(item["event"], LambdaContext(spec["function"], index))
        event_ms.append(1000 * (time.perf_counter() - started))
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if status >= 400 or failures:
            raise SystemExit(f"event {index} failed: {result}")
    max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("PROBE " + json.dumps({"init_ms": init_ms, "event_ms": event_ms, "max_rss_kb": max_rss_kb}))


if __name__ == "__main__":
    main()
