"""The template's functions as Python callables: each handler module loaded from its CodeUri, and a context.

Every function's module is called `app`, so each is loaded from its file under its own module name
(`prodsupport_fn_SlackEventsFunction`) instead of through sys.path, which would let the first `app` win.
A module is loaded on its first invocation, like a cold start, so a stack can run while a handler is still
being written; a handler that cannot be loaded fails that invocation, not the stack.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from prodsupport_local.emulator.cfn import Function, Template

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

type Handler = Callable[[dict[str, Any], Any], Any]


class HandlerLoadError(RuntimeError):
    """The function's handler module is missing, fails to import, or has no such handler."""


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context`: the attributes Powertools and handlers read."""

    function_name: str
    aws_request_id: str
    timeout_seconds: float = 10.0
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if not self.invoked_function_arn:
            self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"
        # Time left is measured on the monotonic clock: it is a budget, not a time of day.
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Lambdas:
    """Load and invoke the template's functions; `overrides` replaces a handler (tests of the harness)."""

    def __init__(self, template: Template, overrides: Mapping[str, Handler] | None = None) -> None:
        self.template = template
        self.functions: dict[str, Function] = {f.logical_id: f for f in template.functions()}
        self._overrides: dict[str, Handler] = dict(overrides or {})
        self._handlers: dict[str, Handler] = {}
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        self._invocations = 0

    def override(self, logical_id: str, handler: Handler | None) -> None:
        """Replace (or, with None, restore) a function's handler."""
        self._require(logical_id)
        with self._lock:
            if handler is None:
                self._overrides.pop(logical_id, None)
            else:
                self._overrides[logical_id] = handler

    def handler(self, logical_id: str) -> Handler:
        function = self._require(logical_id)
        with self._lock:
            override = self._overrides.get(logical_id)
            if override is not None:
                return override
            loaded = self._handlers.get(logical_id)
            if loaded is None:
                loaded = self._handlers[logical_id] = self._load(function)
            return loaded

    def context(self, logical_id: str) -> LambdaContext:
        function = self._require(logical_id)
        with self._lock:
            self._invocations += 1
            count = self._invocations
        timeout = float(function.timeout or 3)
        return LambdaContext(
            function_name=logical_id,
            aws_request_id=str(uuid.UUID(int=count)),
            timeout_seconds=timeout,
            memory_limit_in_mb=function.memory_size or 128,
        )

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Call the handler as the Lambda runtime would; its exceptions propagate to the caller."""
        handler = self.handler(logical_id)
        return handler(event, self.context(logical_id))

    def unload(self) -> None:
        """Forget the loaded modules: the next invocation is a cold start again."""
        with self._lock:
            for module in self._modules.values():
                sys.modules.pop(module.__name__, None)
            self._modules.clear()
            self._handlers.clear()

    def _require(self, logical_id: str) -> Function:
        function = self.functions.get(logical_id)
        if function is None:
            raise KeyError(f"no AWS::Serverless::Function {logical_id} in {self.template.path}")
        return function

    def _load(self, function: Function) -> Handler:
        path = Path(self.template.root, function.code_uri, function.module_file)
        if not path.is_file():
            raise HandlerLoadError(f"{function.logical_id}: no handler module at {path}")
        name = f"prodsupport_fn_{function.logical_id}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise HandlerLoadError(f"{function.logical_id}: cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and typing look the module up by name while it executes
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise HandlerLoadError(f"{function.logical_id}: importing {path} failed: {exc!r}") from exc
        handler = getattr(module, function.handler_name, None)
        if not callable(handler):
            sys.modules.pop(name, None)
            raise HandlerLoadError(f"{function.logical_id}: {path} has no callable {function.handler_name}")
        self._modules[function.logical_id] = module
        return handler  # type: ignore[no-any-return]
