"""arm64 and SnapStart as SAM deploys them: the Slack and PagerDuty functions are invoked through the alias of
the version SnapStart snapshots, never through $LATEST (which SnapStart does not apply to)."""

from __future__ import annotations

import json

import pytest
from deployed import deployed, resources_of

SNAPSTART_FUNCTIONS = ("SlackEventsFunction", "PagerDutyWebhookFunction")


@pytest.mark.parametrize("function", SNAPSTART_FUNCTIONS)
def test_the_function_snapshots_its_published_versions(function: str) -> None:
    properties = resources_of(deployed(), "AWS::Lambda::Function")[function]

    assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}


@pytest.mark.parametrize("function", SNAPSTART_FUNCTIONS)
def test_the_http_api_may_invoke_only_the_live_alias_of_the_function(function: str) -> None:
    template = deployed()
    permissions = [
        p
        for p in resources_of(template, "AWS::Lambda::Permission").values()
        if function in json.dumps(p["FunctionName"])
    ]

    assert permissions
    assert {json.dumps(p["FunctionName"]) for p in permissions} == {json.dumps({"Ref": f"{function}Aliaslive"})}


@pytest.mark.parametrize("function", SNAPSTART_FUNCTIONS)
def test_every_route_of_the_function_integrates_with_its_live_alias(function: str) -> None:
    paths = deployed()["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    uris = [json.dumps(op["x-amazon-apigateway-integration"]["uri"]) for ops in paths.values() for op in ops.values()]
    mine = [uri for uri in uris if function in uri]

    assert mine
    assert all(f"${{{function}Aliaslive}}" in uri for uri in mine)


def test_every_function_and_the_layer_are_arm64() -> None:
    template = deployed()
    functions = resources_of(template, "AWS::Lambda::Function")
    layers = resources_of(template, "AWS::Lambda::LayerVersion")

    assert {name: p.get("Architectures") for name, p in functions.items()} == {name: ["arm64"] for name in functions}
    assert layers
    compatible = {name: p.get("CompatibleArchitectures") for name, p in layers.items()}
    assert compatible == {name: ["arm64"] for name in layers}
