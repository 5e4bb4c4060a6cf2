"""Text made for people from what others typed: the one Jinja2 environment, and text kept on one line.

Every template (the stakeholder email, the release-day email, the post-mortem draft) renders through the
same environment, so they all fail the same way on a missing field and escape the same way in HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


@dataclass(frozen=True)
class RenderedEmail:
    """An email's finished subject and bodies, whichever template made them: the request queues exactly these."""

    subject: str
    text: str
    html: str


def one_line(value: object) -> str:
    """The text on one line: any control character or line break becomes a space, runs of spaces one.

    A line break in an email header would let text someone typed (a title, an application name) start a
    new header such as `Bcc:`; in the Markdown draft it would start a heading, list or table row.
    Flattening keeps the words and drops the power.
    """
    return " ".join(_CONTROLS.sub(" ", str(value)).split())


@cache
def environment() -> jinja2.Environment:
    """Templates anchored at the package, so the Lambda finds them wherever the layer is mounted.

    Only HTML is autoescaped: plain text and Markdown are not HTML, and user text in Markdown goes
    through the `one_line` filter instead. StrictUndefined makes a missing field fail a test rather than
    leave a blank in an email. jinja2 is imported here because most cold starts never render anything.
    """
    import jinja2  # noqa: PLC0415 - cold start: most invocations never render anything

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["one_line"] = one_line
    return env
