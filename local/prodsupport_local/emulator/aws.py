"""The AWS side of template.yaml on one machine: a moto server with the stack's tables, queues, secrets and
SES identity, and the environment the functions would get.

Everything is derived from the template (physical names are the logical ids), so a table or queue added to
template.yaml exists locally without a second edit. The handlers reach it exactly as in Lambda, through
boto3 default clients, steered here by `AWS_ENDPOINT_URL`.

moto handles requests on many threads and its conditional writes are not atomic under concurrency (two of
twenty racing conditional UpdateItems could both win); DynamoDB's are. The server here serializes every
DynamoDB request with one lock at the WSGI layer, so a race test against it proves what the real service
guarantees instead of passing or failing by moto's luck.

Two in-process adjustments to moto keep replays byte-stable: SES message ids are a counter
(`local-message-000001`, ...) instead of random text, and moto's own random source is seeded on every
reset. A SES v2 "Simple" send is also recorded at the request, because moto keeps only one of its two
bodies.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from types import TracebackType
from typing import Any, Self
from unittest import mock

import boto3

from prodsupport.core.settings import PREFIX, env_from_config
from prodsupport_local.emulator.cfn import Queue, Template, TemplateError, load_template, resolve

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
    "TableClass",
)
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


@dataclass(frozen=True)
class LocalSecrets:
    """The secret values the local stack stores in Secrets Manager (never real ones unless given)."""

    slack_signing_secret: str = "local-signing-secret"  # noqa: S105 - a local stand-in
    slack_bot_token: str = "xoxb-local"  # noqa: S105 - a local stand-in
    pagerduty_webhook_secrets: tuple[str, ...] = ("local-pagerduty-secret",)
    pagerduty_api_token: str = "local-pagerduty-token"  # noqa: S105 - a local stand-in
    github_token: str = "local-github-token"  # noqa: S105 - a local stand-in
    github_webhook_secrets: tuple[str, ...] = ("local-github-secret",)


@dataclass(frozen=True)
class SentEmail:
    """One email SES accepted, as the recipient would read it."""

    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str | None
    html: str | None
    raw: str | None = field(default=None, repr=False)


class EmulatedAws:
    """A moto server on 127.0.0.1 holding what template.yaml declares; see the module docstring.

    moto keeps its state in process-wide backends, whichever server serves them: two EmulatedAws in one
    process share it, and `reset` of one empties both. Use one at a time (the tests share one per session).
    """

    def __init__(self, template: Template | None = None, *, secrets: LocalSecrets | None = None) -> None:
        self.template = template or load_template()
        self.secrets = secrets or LocalSecrets()
        self._server: Any = None
        self._patches = ExitStack()
        self._message_count = 0
        self._simple_sends: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._resource_cache: dict[str, tuple[dict[str, str], dict[tuple[str, str], str]]] = {}

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("EmulatedAws is already started")
        # moto serves through werkzeug, whose access log (one stderr line per AWS call) is only noise here.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._install_patches()
        self._server = _AtomicDynamoDbMotoServer()
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._clients.clear()
        self._patches.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmulatedAws is not started")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def client(self, service: str) -> Any:
        """A boto3 client for this server that does not depend on the process environment.

        Cached: creating a client costs tens of milliseconds (service model loading), more than a reset.
        """
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self._clients[service] = boto3.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=REGION,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",  # noqa: S106 - moto's fixed test credentials
                )
            return client

    # -- the stack's resources -------------------------------------------------------------------------------

    def table_name(self, logical_id: str) -> str:
        return logical_id

    def queue_name(self, queue: Queue) -> str:
        fifo = str(queue.properties.get("FifoQueue", "")).lower() == "true"
        return f"{queue.logical_id}.fifo" if fifo else queue.logical_id

    def queue_url(self, logical_id: str) -> str:
        queue = self._queue(logical_id)
        return f"{self.endpoint_url}/{ACCOUNT_ID}/{self.queue_name(queue)}"

    def queue_arn(self, logical_id: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{self.queue_name(self._queue(logical_id))}"

    def reset(self, settings: Mapping[str, Any] | None = None) -> None:
        """Forget everything and create the template's resources afresh (a new, empty stack)."""
        from moto.moto_api._internal import mock_random

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310 - our own loopback server
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - our own loopback server
            pass
        with self._lock:
            self._message_count = 0
            self._simple_sends.clear()
        mock_random.seed(0)
        self.create_resources(settings or {})

    def create_resources(self, settings: Mapping[str, Any]) -> None:
        """Tables (keys, GSIs, TTL), queues (dead-letter queues first), the secrets, the SES identity."""
        for table in self.template.tables():
            self._create_table(table.logical_id, table.properties)
        self._create_queues()
        env = self.environment(settings)
        self.put_secrets(env)
        self.verify_sender(env.get(f"{PREFIX}EMAIL_SENDER", ""))

    def put_secrets(self, env: Mapping[str, str]) -> None:
        """Store the Slack, PagerDuty and GitHub secrets under the names the functions are configured with."""
        secrets = self.client("secretsmanager")
        values = {
            env.get(f"{PREFIX}SLACK_SECRET_NAME") or "prodsupport/slack": {
                "signing_secret": self.secrets.slack_signing_secret,
                "bot_token": self.secrets.slack_bot_token,
            },
            env.get(f"{PREFIX}PAGERDUTY_SECRET_NAME") or "prodsupport/pagerduty": {
                "webhook_secrets": list(self.secrets.pagerduty_webhook_secrets),
                "api_token": self.secrets.pagerduty_api_token,
            },
            env.get(f"{PREFIX}GITHUB_SECRET_NAME") or "prodsupport/github": {
                "token": self.secrets.github_token,
                "webhook_secrets": list(self.secrets.github_webhook_secrets),
            },
        }
        for name, value in values.items():
            try:
                secrets.create_secret(Name=name, SecretString=json.dumps(value))
            except secrets.exceptions.ResourceExistsException:
                secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))

    def verify_sender(self, address: str) -> None:
        """Make the sender a verified SES identity, as the deployed account's EmailIdentity is."""
        if address:
            self.client("sesv2").create_email_identity(EmailIdentity=address)

    def environment(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """The functions' environment: Globals (tables and queues resolved to this server), parameters from
        `settings` (else their template defaults), every other setting, and the endpoint and credentials."""
        config_env = env_from_config(settings)
        # A parameter without a default (ChannelId, AdminUserIds, ...) is empty unless the settings give it.
        parameters = {name: "" for name in self.template.parameters} | self.template.parameter_defaults()
        globals_env = self.template.globals_environment()
        for var, value in globals_env.items():
            if isinstance(value, Mapping) and "Ref" in value and var in config_env:
                parameters[str(value["Ref"])] = config_env[var]
        env = {var: str(self._resolve(value, parameters)) for var, value in globals_env.items() if value is not None}
        env.update(config_env)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )
        return env

    def function_environment(self, logical_id: str, settings: Mapping[str, Any]) -> dict[str, str]:
        """`environment` plus the function's own Environment, where the template gives it one."""
        function = self.template.function(logical_id)
        env = self.environment(settings)
        own = set(function.environment) - set(self.template.globals_environment())
        parameters = {name: "" for name in self.template.parameters} | self.template.parameter_defaults()
        for var in sorted(own):
            env[var] = str(self._resolve(function.environment[var], parameters))
        return env

    # -- SES -------------------------------------------------------------------------------------------------

    def sent_emails(self) -> list[SentEmail]:
        """Every email SES accepted since the last reset, in order."""
        from moto.backends import get_backend

        backend = get_backend("ses")[ACCOUNT_ID][REGION]
        with self._lock:
            simple = dict(self._simple_sends)
        return [_sent_email(message, simple.get(message.id)) for message in list(backend.sent_messages)]

    # -- internals -------------------------------------------------------------------------------------------

    def _install_patches(self) -> None:
        import moto.ses.models
        from moto.sesv2.responses import SESV2Response

        self._patches.enter_context(mock.patch.object(moto.ses.models, "get_random_message_id", self._next_message_id))
        original_send: Callable[[Any], str] = SESV2Response.send_email
        recorder = self

        def send_email(response: Any) -> str:
            answer = original_send(response)
            params = json.loads(response.body)
            if "Simple" in (params.get("Content") or {}):
                with recorder._lock:
                    recorder._simple_sends[json.loads(answer)["MessageId"]] = params
            return answer

        self._patches.enter_context(mock.patch.object(SESV2Response, "send_email", send_email))

    def _next_message_id(self) -> str:
        with self._lock:
            self._message_count += 1
            return f"local-message-{self._message_count:06d}"

    def _queue(self, logical_id: str) -> Queue:
        for queue in self.template.queues():
            if queue.logical_id == logical_id:
                return queue
        raise KeyError(f"no AWS::SQS::Queue {logical_id} in the template")

    def _resolve(self, value: Any, parameters: Mapping[str, str]) -> Any:
        refs, attributes = self._resource_values()
        try:
            return resolve(value, {**refs, **parameters}, attributes)
        except TemplateError as exc:
            raise TemplateError(f"cannot resolve {value!r} locally: {exc}") from None

    def _resource_values(self) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
        """What Ref and GetAtt of the template's tables and queues (and pseudo parameters) give here."""
        endpoint = self.endpoint_url
        cached = self._resource_cache.get(endpoint)
        if cached is not None:
            return cached
        refs: dict[str, str] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "prodsupport-local",
        }
        attributes: dict[tuple[str, str], str] = {}
        for table in self.template.tables():
            refs[table.logical_id] = self.table_name(table.logical_id)
            attributes[(table.logical_id, "Arn")] = (
                f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.table_name(table.logical_id)}"
            )
        for queue in self.template.queues():
            refs[queue.logical_id] = self.queue_url(queue.logical_id)
            attributes[(queue.logical_id, "Arn")] = self.queue_arn(queue.logical_id)
            attributes[(queue.logical_id, "QueueName")] = self.queue_name(queue)
            attributes[(queue.logical_id, "QueueUrl")] = self.queue_url(queue.logical_id)
        self._resource_cache = {endpoint: (refs, attributes)}
        return refs, attributes

    def _create_table(self, logical_id: str, props: Mapping[str, Any]) -> None:
        request: dict[str, Any] = {"TableName": self.table_name(logical_id)}
        request.update({key: props[key] for key in _TABLE_KEYS if key in props})
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(index_kind):
                request[index_kind] = [
                    {k: v for k, v in index.items() if k in _INDEX_KEYS} for index in props[index_kind]
                ]
        request.setdefault("BillingMode", "PAY_PER_REQUEST")
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(**request)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled", "")).lower() == "true":
            dynamodb.update_time_to_live(
                TableName=request["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )

    def _create_queues(self) -> None:
        sqs = self.client("sqs")
        for queue in _dead_letter_queues_first(self.template.queues()):
            attributes = {
                key: str(queue.properties[key]).lower()
                if isinstance(queue.properties[key], bool)
                else str(queue.properties[key])
                for key in _QUEUE_ATTRIBUTES
                if key in queue.properties
            }
            if queue.redrive is not None:
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": self.queue_arn(queue.redrive.dead_letter_queue),
                        "maxReceiveCount": queue.redrive.max_receive_count,
                    }
                )
            sqs.create_queue(QueueName=self.queue_name(queue), Attributes=attributes)


type _StartResponse = Callable[..., Any]
type _WsgiApp = Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]

DYNAMODB_TARGET_PREFIX = "DynamoDB_"


class _SerializedDynamoDb:
    """A WSGI middleware that lets one DynamoDB request at a time through to moto, body written included.

    Every DynamoDB API call names its operation in `X-Amz-Target` (`DynamoDB_20120810.UpdateItem`); other
    services keep moto's concurrency. The response is read inside the lock, since a WSGI app may do its
    work lazily while its body is iterated.
    """

    def __init__(self, app: _WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(DYNAMODB_TARGET_PREFIX):
            return self.app(environ, start_response)
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


class _AtomicDynamoDbMotoServer:
    """moto's ThreadedMotoServer with `_SerializedDynamoDb` in front of its dispatcher, on a free port."""

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = _SerializedDynamoDb(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()


def _dead_letter_queues_first(queues: list[Queue]) -> Iterator[Queue]:
    """A queue's redrive target must exist before it; keep template order otherwise."""
    done: set[str] = set()
    by_id = {queue.logical_id: queue for queue in queues}

    def visit(queue: Queue, path: tuple[str, ...]) -> Iterator[Queue]:
        if queue.logical_id in done:
            return
        if queue.logical_id in path:
            raise TemplateError(f"redrive cycle through {' -> '.join((*path, queue.logical_id))}")
        if queue.redrive is not None:
            if queue.redrive.dead_letter_queue not in by_id:
                raise TemplateError(f"{queue.logical_id}: dead-letter queue is not an SQS queue of the template")
            yield from visit(by_id[queue.redrive.dead_letter_queue], (*path, queue.logical_id))
        done.add(queue.logical_id)
        yield queue

    for queue in queues:
        yield from visit(queue, ())


def _sent_email(message: Any, simple_request: Mapping[str, Any] | None) -> SentEmail:
    raw: str | None = getattr(message, "raw_data", None)
    if raw is not None:
        parsed = email.message_from_string(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text, html = _bodies(parsed)
        recipients = [*message.destinations]
        return SentEmail(
            message_id=message.id,
            sender=parseaddr(message.source or str(parsed.get("From", "")))[1],
            to=_addresses(recipients),
            subject=str(parsed.get("Subject", "")),
            text=text,
            html=html,
            raw=raw,
        )
    destinations: Mapping[str, list[str]] = getattr(message, "destinations", {}) or {}
    recipients = [address for addresses in destinations.values() for address in addresses]
    text = html = None
    if simple_request is not None:
        body = simple_request["Content"]["Simple"].get("Body", {})
        text = body.get("Text", {}).get("Data")
        html = body.get("Html", {}).get("Data")
    else:
        text = getattr(message, "body", None)
    return SentEmail(
        message_id=message.id,
        sender=parseaddr(message.source)[1],
        to=_addresses(recipients),
        subject=str(getattr(message, "subject", "")),
        text=text,
        html=html,
    )


def _bodies(message: EmailMessage) -> tuple[str | None, str | None]:
    text = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and text is None:
            text = str(part.get_content())
        elif content_type == "text/html" and html is None:
            html = str(part.get_content())
    return text, html


def _addresses(values: list[str]) -> tuple[str, ...]:
    """Bare addresses, each once, in order (moto adds the MIME To/Cc to the request's destinations)."""
    seen: dict[str, None] = {}
    for _, address in getaddresses(values):
        if address and address.lower() not in {a.lower() for a in seen}:
            seen[address] = None
    return tuple(seen)
