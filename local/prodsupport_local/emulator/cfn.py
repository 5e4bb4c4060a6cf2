"""template.yaml as data: parsed by cfn-lint's CloudFormation YAML decoder, with typed accessors.

The local stack, the tests and the replay tool build everything (tables, queues, routes, schedules, handler
locations) from the template rather than from a second description of it, so the two cannot drift apart.
cfn-lint (which `make test` runs on the same file) turns short tags into their long forms (`!Ref X` ->
`{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`), exactly what CloudFormation itself sees
after parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from cfnlint.decode import cfn_yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"


class TemplateError(ValueError):
    """The template has a shape this tool does not understand; the message names the resource."""


@dataclass(frozen=True)
class Table:
    logical_id: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class Redrive:
    dead_letter_queue: str
    max_receive_count: int


@dataclass(frozen=True)
class Queue:
    logical_id: str
    properties: dict[str, Any]
    redrive: Redrive | None


@dataclass(frozen=True)
class HttpApiEvent:
    name: str
    method: str
    path: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class ScheduleEvent:
    name: str
    expression: str
    timezone: str
    input: str | None


@dataclass(frozen=True)
class SqsEvent:
    name: str
    queue: str
    batch_size: int
    function_response_types: tuple[str, ...]

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


type FunctionEvent = HttpApiEvent | ScheduleEvent | SqsEvent


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: str
    handler: str
    environment: dict[str, Any]
    events: tuple[FunctionEvent, ...] = field(default=())
    timeout: int | None = None
    memory_size: int | None = None

    @property
    def module_file(self) -> str:
        """`app.lambda_handler` -> `app.py`: the file Lambda imports from CodeUri."""
        module, _, _ = self.handler.rpartition(".")
        return module.replace(".", "/") + ".py"

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class Template:
    path: Path
    body: dict[str, Any]
    code_root: Path | None = None

    @property
    def root(self) -> Path:
        """The directory CodeUri and ContentUri are relative to: the template's own, unless given."""
        return self.code_root or self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self.body.get("Resources", {}))

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self.body.get("Parameters", {}))

    def parameter_defaults(self) -> dict[str, str]:
        return {name: str(spec["Default"]) for name, spec in self.parameters.items() if "Default" in spec}

    def globals_environment(self) -> dict[str, Any]:
        function_globals = self.body.get("Globals", {}).get("Function", {})
        return dict(function_globals.get("Environment", {}).get("Variables", {}))

    def _of_type(self, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (logical_id, resource.get("Properties", {}) or {})
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        ]

    def tables(self) -> list[Table]:
        return list(self._tables)

    def queues(self) -> list[Queue]:
        return list(self._queues)

    def functions(self) -> list[Function]:
        return list(self._functions)

    # The accessors are read on every request and tick; parse each kind once (the template is immutable).

    @cached_property
    def _tables(self) -> tuple[Table, ...]:
        return tuple(Table(logical_id, props) for logical_id, props in self._of_type("AWS::DynamoDB::Table"))

    @cached_property
    def _queues(self) -> tuple[Queue, ...]:
        queues = []
        for logical_id, props in self._of_type("AWS::SQS::Queue"):
            policy = props.get("RedrivePolicy")
            redrive = None
            if policy is not None:
                redrive = Redrive(
                    dead_letter_queue=_referenced_resource(policy["deadLetterTargetArn"], logical_id),
                    max_receive_count=int(policy["maxReceiveCount"]),
                )
            queues.append(Queue(logical_id, props, redrive))
        return tuple(queues)

    @cached_property
    def _functions(self) -> tuple[Function, ...]:
        globals_env = self.globals_environment()
        parameters = self.parameter_defaults()
        function_globals = self.body.get("Globals", {}).get("Function", {})
        functions = []
        for logical_id, props in self._of_type("AWS::Serverless::Function"):
            own_env = props.get("Environment", {}).get("Variables", {})
            events = tuple(
                event
                for name, spec in (props.get("Events") or {}).items()
                if (event := _event(logical_id, name, spec, parameters)) is not None
            )
            functions.append(
                Function(
                    logical_id=logical_id,
                    code_uri=str(props.get("CodeUri", "")),
                    handler=str(props.get("Handler", "")),
                    environment={**globals_env, **own_env},
                    events=events,
                    timeout=_int_or_none(props.get("Timeout", function_globals.get("Timeout"))),
                    memory_size=_int_or_none(props.get("MemorySize", function_globals.get("MemorySize"))),
                )
            )
        return tuple(functions)

    def function(self, logical_id: str) -> Function:
        for function in self.functions():
            if function.logical_id == logical_id:
                return function
        raise KeyError(f"no AWS::Serverless::Function {logical_id} in {self.path}")


def load_template(path: Path | str = DEFAULT_TEMPLATE, *, code_root: Path | None = None) -> Template:
    """Parse a template; `code_root` overrides where CodeUri paths start (a test's copy of the template)."""
    template_path = Path(path)
    body = cfn_yaml.load(str(template_path))
    if not isinstance(body, dict) or not body:
        raise TemplateError(f"{template_path} is not a YAML mapping")
    return Template(template_path, _plain(body), code_root)


def _plain(value: Any) -> Any:
    """cfn-lint's nodes as plain dicts, lists and strings (they carry marks, and cannot cross to a spawned
    process); an unquoted date (`2026-11-27`) as text, as CloudFormation reads it, not YAML's date."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _referenced_resource(value: Any, where: str) -> str:
    """The logical id behind `!Ref X` or `!GetAtt X.Arn`."""
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    raise TemplateError(f"{where}: expected !Ref or !GetAtt of a resource, got {value!r}")


def _event(function_id: str, name: str, spec: Mapping[str, Any], parameters: Mapping[str, str]) -> FunctionEvent | None:
    """`parameters` (the template's defaults) give a schedule whose expression is `!Ref` of a parameter."""
    props = spec.get("Properties", {}) or {}
    kind = spec.get("Type")
    where = f"{function_id}.Events.{name}"
    if kind == "HttpApi":
        return HttpApiEvent(name=name, method=str(props.get("Method", "ANY")).upper(), path=str(props["Path"]))
    if kind == "ScheduleV2":
        return ScheduleEvent(
            name=name,
            expression=str(resolve(props["ScheduleExpression"], parameters, {})),
            timezone=str(props.get("ScheduleExpressionTimezone", "UTC")),
            input=props.get("Input"),
        )
    if kind == "SQS":
        return SqsEvent(
            name=name,
            queue=_referenced_resource(props["Queue"], where),
            batch_size=int(props.get("BatchSize", 10)),
            function_response_types=tuple(props.get("FunctionResponseTypes", ())),
        )
    return None


def resolve(value: Any, refs: Mapping[str, str], attributes: Mapping[tuple[str, str], str]) -> Any:
    """Evaluate the intrinsics a local run needs (Ref, GetAtt, Sub, Join) against known values.

    `refs` maps a logical id or parameter name (and pseudo parameters such as `AWS::Region`) to what `Ref`
    returns; `attributes` maps (logical id, attribute) to what `GetAtt` returns. Anything else is an error
    naming the function, rather than a silently wrong value.
    """
    if isinstance(value, list):
        return [resolve(item, refs, attributes) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            if arg not in refs:
                raise TemplateError(f"!Ref {arg}: no local value")
            return refs[arg]
        if key == "Fn::GetAtt":
            target = (str(arg[0]), str(arg[1]))
            if target not in attributes:
                raise TemplateError(f"!GetAtt {target[0]}.{target[1]}: no local value")
            return attributes[target]
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            variables = {name: str(resolve(v, refs, attributes)) for name, v in extra.items()}
            return _substitute(text, variables, refs, attributes)
        if key == "Fn::Join":
            separator, items = arg
            return str(separator).join(str(resolve(item, refs, attributes)) for item in items)
        if key.startswith("Fn::") or key == "Condition":
            raise TemplateError(f"{key} is not evaluated locally")
    return {k: resolve(v, refs, attributes) for k, v in value.items()}


def _substitute(
    text: str,
    variables: Mapping[str, str],
    refs: Mapping[str, str],
    attributes: Mapping[tuple[str, str], str],
) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        end = text.index("}", start)
        name = text[start + 2 : end]
        if name.startswith("!"):
            out.append("${" + name[1:] + "}")  # ${!Literal} is a literal ${Literal}
        elif name in variables:
            out.append(variables[name])
        elif "." in name and name not in refs:
            resource, _, attribute = name.partition(".")
            out.append(str(resolve({"Fn::GetAtt": [resource, attribute]}, refs, attributes)))
        else:
            out.append(str(resolve({"Ref": name}, refs, attributes)))
        i = end + 1
    return "".join(out)
