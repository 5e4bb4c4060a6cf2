"""Block Kit pieces every message and form is made of, built one way.

Slack rejects a whole message or view over one malformed block, so the shapes live in one place and every
card, post-mortem message and modal (declare, email, post-mortem, release) uses them. Pure dictionaries: no
slack_sdk at import time.
"""

from __future__ import annotations

from typing import Any

MAX_SELECT_OPTIONS = 100  # Slack's limit for a static select's options

type Block = dict[str, Any]


def plain_text(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def section(mrkdwn: str) -> Block:
    """A text section; the text is Slack mrkdwn the caller has already escaped."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    """A button whose click arrives as `action_id` with `value` (an incident id)."""
    block: Block = {"type": "button", "text": plain_text(text), "action_id": action_id, "value": value}
    if style:
        block["style"] = style
    return block


def actions(block_id: str, elements: list[Block]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": elements}


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
