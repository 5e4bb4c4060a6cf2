"""Block Kit pieces every form is made of, built one way.

Slack rejects a whole view over one malformed block, so the input shapes live in one place and every
modal (declare, email, post-mortem, release) uses them. Pure dictionaries: no slack_sdk at import time.
"""

from __future__ import annotations

from typing import Any

type Block = dict[str, Any]


def plain_text(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def text_input(
    *, initial: str = "", multiline: bool | None = None, placeholder: str = "", max_length: int | None = None
) -> Block:
    """A `plain_text_input` whose value every submission reads under the action id `value`."""
    element: Block = {"type": "plain_text_input", "action_id": "value"}
    if multiline is not None:
        element["multiline"] = multiline
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = plain_text(placeholder)
    if max_length is not None:
        element["max_length"] = max_length
    return element


def input_block(block_id: str, label: str, element: Block, *, optional: bool | None = None) -> Block:
    """An `input` block; forms read it back as `values[block_id]["value"]`."""
    block: Block = {"type": "input", "block_id": block_id, "label": plain_text(label), "element": element}
    if optional is not None:
        block["optional"] = optional
    return block
