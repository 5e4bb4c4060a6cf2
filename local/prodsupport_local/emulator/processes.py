"""The real handlers in processes of their own, as Lambda runs them: killed at their Timeout, released together.

A race between two deliveries is only proven when nothing is shared but what Lambda containers share:
the table, the queues and the HTTP APIs. Threads in one process share the handler module, its cached
runtime and clients, and the GIL's scheduling; separate processes do not. And an in-process invocation
cannot be cut short: a handler that sleeps a long Retry-After simply finishes late, and a test never sees
what Lambda's kill would have lost.

So each call here (an HTTP `Call` through the HttpApi's route, or an `Invoke` with the event a schedule or
queue would send) runs in its own freshly spawned interpreter with the function's environment from the
`LocalStack` (its moto server, recording Slack and PagerDuty reached by URL) and loads the handler cold.
The init phase is not counted, like Lambda's own init: every process then waits on one barrier, so all the
calls leave the starting line at once, and each is killed once its function's `Timeout` (template.yaml)
has passed since. `start_after` delays one call past the barrier to place it at a chosen point of
another's work (e.g. while a slow Slack post is in flight); its Timeout counts from its own start.

    run(stack, Invoke("SlaCheckerFunction", event, at))            # one invocation, killed at its Timeout
    run_together(stack, [call_a, call_b])                            # a race, released by one barrier
    with start(stack, [invoke]) as running: ...; running.kill()     # ended from outside, as Lambda ends one

Business time is not the wall clock: each call runs with its fixed time `at`, as a stack's clock.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from threading import BrokenBarrierError
from typing import Any

from prodsupport import runtime
from prodsupport_local.emulator.apigw import (
    INTERNAL_SERVER_ERROR,
    HttpResponse,
    gateway_error,
    http_api_event,
    lambda_response,
)
from prodsupport_local.emulator.cfn import Template
from prodsupport_local.emulator.lambdas import Lambdas
from prodsupport_local.emulator.stack import LocalStack

# Lambda allows 10 s of init; spawning and importing on a loaded test machine can take longer, and the
# init is not what these runs prove, so the harness waits this long for every process to be ready.
INIT_SECONDS = 60.0
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 3.0  # Lambda's default when the template gives none


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
    handler raised, as API Gateway answers); `error` is the traceback of a handler that raised; `killed`
    says the process was ended (at its Timeout, or from outside) before it answered."""

    result: Any
    response: HttpResponse | None = None
    error: str = ""
    killed: bool = False
    elapsed_seconds: float = 0.0
    timeout_seconds: float = 0.0

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
    timeout_seconds: float
    http: bool


class _FixedClock:
    """The business time of one invocation: a process of its own cannot share the test's VirtualClock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Running:
    """Processes started by `start`, past their init and released; `outcomes` waits for their answers."""

    def __init__(self, jobs: list[_Job], workers: list[BaseProcess], pipes: list[Connection], released: float) -> None:
        self._jobs = jobs
        self._workers = workers
        self._pipes = pipes
        self._released = released
        self._outcomes: list[Outcome] | None = None

    @property
    def released_at(self) -> float:
        """When the calls left the starting line, on the monotonic clock (system-wide, as the stand-ins record)."""
        return self._released

    def outcomes(self) -> list[Outcome]:
        """Each call's outcome in the order given; a process still running at its Timeout is killed."""
        if self._outcomes is None:
            self._outcomes = [
                self._wait(job, worker, receiver)
                for job, worker, receiver in zip(self._jobs, self._workers, self._pipes, strict=True)
            ]
        return self._outcomes

    def kill(self) -> None:
        """End every process still running, as Lambda ends a function at its Timeout: no cleanup runs."""
        for worker in self._workers:
            if worker.is_alive():
                worker.kill()
            worker.join()

    def _wait(self, job: _Job, worker: BaseProcess, receiver: Connection) -> Outcome:
        deadline = self._released + job.start_after + job.timeout_seconds
        if receiver.poll(max(0.0, deadline - time.monotonic())):
            try:
                outcome: Outcome = receiver.recv()
            except EOFError:
                pass  # ended from outside before it answered
            else:
                worker.join()
                return outcome
        if worker.is_alive():
            worker.kill()
        worker.join()
        elapsed = min(time.monotonic() - self._released - job.start_after, job.timeout_seconds)
        return Outcome(None, None, "", killed=True, elapsed_seconds=elapsed, timeout_seconds=job.timeout_seconds)


@contextmanager
def start(stack: LocalStack, calls: Sequence[Call | Invoke]) -> Iterator[Running]:
    """Start every call in its own process, released once all have loaded their handler; whatever still runs
    when the block ends is killed."""
    jobs = [_job(stack, call, index) for index, call in enumerate(calls)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs) + 1)  # the caller is the last party: its release is the start time
    pipes = [context.Pipe(duplex=False) for _ in jobs]
    workers: list[BaseProcess] = [
        context.Process(target=_work, args=(job, barrier, sender), name=f"lambda-{index}", daemon=True)
        for index, (job, (_, sender)) in enumerate(zip(jobs, pipes, strict=True))
    ]
    for worker in workers:
        worker.start()
    for _, sender in pipes:
        sender.close()
    try:
        barrier.wait(timeout=INIT_SECONDS)
    except BrokenBarrierError:
        for worker in workers:
            worker.kill()
            worker.join()
        raise RuntimeError(f"the functions' init did not finish within {INIT_SECONDS:g} s") from None
    running = Running(jobs, workers, [receiver for receiver, _ in pipes], time.monotonic())
    try:
        yield running
    finally:
        running.kill()


def run_together(stack: LocalStack, calls: Sequence[Call | Invoke]) -> list[Outcome]:
    """Run every call in its own process, all released at once; the outcomes in the order of `calls`."""
    with start(stack, calls) as running:
        return running.outcomes()


def run(stack: LocalStack, call: Call | Invoke) -> Outcome:
    """One call in its own process, killed at its function's Timeout."""
    [outcome] = run_together(stack, [call])
    return outcome


def _job(stack: LocalStack, call: Call | Invoke, index: int) -> _Job:
    if isinstance(call, Invoke):
        function, event, http = call.function, call.event, False
    else:
        route, status = stack.match_route(call.method, call.path)
        if route is None:
            raise ValueError(f"{call.method} {call.path} matches no route of the template ({status})")
        function, http = route.function, True
        event = http_api_event(
            call.method,
            call.path,
            call.headers,
            call.body,
            call.at,
            route_key=route.route_key,
            request_id=f"process-request-{index:06d}",
        )
    timeout = float(stack.lambdas.functions[function].timeout or DEFAULT_FUNCTION_TIMEOUT_SECONDS)
    env = stack.function_env(function)
    return _Job(stack.template, function, event, env, call.at, call.start_after, timeout, http)


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
        started = time.monotonic()
        result = handler(job.event, lambdas.context(job.function))
        elapsed = time.monotonic() - started
        response = lambda_response(result) if job.http else None
        answer.send(Outcome(result, response, elapsed_seconds=elapsed, timeout_seconds=job.timeout_seconds))
    except Exception:
        failed = gateway_error(INTERNAL_SERVER_ERROR) if job.http else None
        answer.send(Outcome(None, failed, traceback.format_exc(), timeout_seconds=job.timeout_seconds))
    finally:
        answer.close()
