"""The real handlers in separate processes, started together, as Lambda runs concurrent invocations.

A race between two deliveries is only proven when nothing is shared but what Lambda containers share:
the table, the queues and the HTTP APIs. Threads in one process share the handler module, its cached
runtime and clients, and the GIL's scheduling; separate processes do not. So each call here (an HTTP `Call`
through the HttpApi's route, or an `Invoke` with the event a schedule or queue would send) runs in its own
freshly spawned interpreter with the function's environment from the `LocalStack` (its moto server,
recording Slack and PagerDuty reached by URL), loads the handler cold, and then waits on a barrier with the
others, so every call leaves the starting line at once. `start_after` delays one call past the barrier to
place it at a chosen point of another's work (e.g. while a slow Slack post is in flight).

Business time is not the wall clock: each call runs with its fixed time `at`, as a stack's clock.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from prodsupport import runtime
from prodsupport_local.apigw import INTERNAL_SERVER_ERROR, HttpResponse, gateway_error, http_api_event, lambda_response
from prodsupport_local.cfn import Template
from prodsupport_local.lambdas import Lambdas
from prodsupport_local.stack import LocalStack

DEFAULT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Call:
    """One HTTP request through the stack's HttpApi, handled in its own process at business time `at`."""

    method: str
    path: str
    body: bytes
    at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)
    start_after: float = 0.0


@dataclass(frozen=True)
class Invoke:
    """One direct invocation (an EventBridge schedule's Input, an SQS batch) in its own process at `at`."""

    function: str
    event: dict[str, Any]
    at: datetime
    start_after: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """What the invoker got: the handler's return value and, for a `Call`, the HTTP answer (a 500 when the
    handler raised, as API Gateway answers); `error` is the traceback of a handler that raised."""

    result: Any
    response: HttpResponse | None = None
    error: str = ""

    @property
    def status(self) -> int | None:
        """The HTTP status a `Call` was answered with (None for an `Invoke`)."""
        return self.response.status if self.response is not None else None


@dataclass(frozen=True)
class _Job:
    template: Template
    function: str
    event: dict[str, Any]
    env: dict[str, str]
    at: datetime
    start_after: float
    http: bool


class _FixedClock:
    """The business time of one invocation: a process of its own cannot share the test's VirtualClock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def run_together(
    stack: LocalStack, calls: Sequence[Call | Invoke], *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> list[Outcome]:
    """Run every call in its own process, all released at once; the outcomes in the order of `calls`."""
    jobs = [_job(stack, call, index) for index, call in enumerate(calls)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    pipes = [context.Pipe(duplex=False) for _ in jobs]
    workers = [
        context.Process(target=_work, args=(job, barrier, sender), name=f"lambda-{index}", daemon=True)
        for index, (job, (_, sender)) in enumerate(zip(jobs, pipes, strict=True))
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + timeout
    outcomes: list[Outcome] = []
    try:
        for worker, (receiver, sender) in zip(workers, pipes, strict=True):
            sender.close()
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"{worker.name} gave no answer within {timeout} s")
            outcomes.append(receiver.recv())
    finally:
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                worker.kill()
                worker.join()
    return outcomes


def _job(stack: LocalStack, call: Call | Invoke, index: int) -> _Job:
    if isinstance(call, Invoke):
        env = stack.function_env(call.function)
        return _Job(stack.template, call.function, call.event, env, call.at, call.start_after, http=False)
    route, status = stack.match_route(call.method, call.path)
    if route is None:
        raise ValueError(f"{call.method} {call.path} matches no route of the template ({status})")
    event = http_api_event(
        call.method,
        call.path,
        call.headers,
        call.body,
        call.at,
        route_key=route.route_key,
        request_id=f"process-request-{index:06d}",
    )
    env = stack.function_env(route.function)
    return _Job(stack.template, route.function, event, env, call.at, call.start_after, http=True)


def _work(job: _Job, barrier: Any, answer: Connection) -> None:
    """In the child: the function's environment and a cold handler, then the barrier, then the request."""
    os.environ.clear()
    os.environ.update(job.env)
    runtime.use_clock(_FixedClock(job.at))
    lambdas = Lambdas(job.template)
    try:
        try:
            handler = lambdas.handler(job.function)
        finally:
            barrier.wait()
        if job.start_after:
            time.sleep(job.start_after)  # placement in real time against another process, not business time
        result = handler(job.event, lambdas.context(job.function))
        answer.send(Outcome(result, lambda_response(result) if job.http else None))
    except Exception:
        failed = gateway_error(INTERNAL_SERVER_ERROR) if job.http else None
        answer.send(Outcome(None, failed, traceback.format_exc()))
    finally:
        answer.close()
