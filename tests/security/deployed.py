"""template.yaml as SAM deploys it: transformed by samtranslator (what `sam deploy` hands CloudFormation).

SAM adds roles, managed policies, permissions and schedules that the source template never shows, so the
IAM and naming tests read the transformed template. The transform runs offline: code locations are the
S3 URIs `sam package` would write, and the managed-policy lookup (an IAM call) is a fixed map of the AWS
managed policies SAM may attach, so a policy SAM adds shows up by name.
"""

from __future__ import annotations

import copy
import os
from functools import cache
from typing import Any

from prodsupport_local.emulator.cfn import load_template

PARAMETERS = {
    "ChannelId": "C0PRODSUP",
    "EmailSender": "prodsupport@example.gov",
    "EmailIdentity": "example.gov",
    "AdminUserIds": "U0ADMIN",
    "AlarmEmail": "oncall@example.gov",
}
SAM_MANAGED_POLICIES = (
    "AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
)


class _OfflinePolicies:
    """samtranslator's ManagedPolicyLoader interface, answered without IAM."""

    def load(self) -> dict[str, str]:
        return {name: f"arn:aws:iam::aws:policy/service-role/{name}" for name in SAM_MANAGED_POLICIES}


@cache
def _transformed(stack_name: str) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    body = copy.deepcopy(load_template().body)
    for resource in body["Resources"].values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = "s3://prodsupport-artifacts/package.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    parameters = {**PARAMETERS, "AWS::StackName": stack_name, "AWS::Region": "us-east-1", "AWS::AccountId": "1" * 12}
    return dict(transform(body, parameters, _OfflinePolicies()))


def deployed(stack_name: str = "prodsupport") -> dict[str, Any]:
    """A fresh copy of the transformed template for `stack_name`."""
    return copy.deepcopy(_transformed(stack_name))


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: dict(r.get("Properties") or {}) for name, r in template["Resources"].items() if r["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def physical_name(value: Any, stack_name: str) -> str | None:
    """The name a property gives, as CloudFormation would make it; None when CloudFormation generates it.

    A literal is the same in every stack; `Fn::Sub` is evaluated for the stack's name; a Ref or GetAtt
    names a resource whose own physical name CloudFormation made unique.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return str(value["Fn::Sub"]).replace("${AWS::StackName}", stack_name)
    return None
