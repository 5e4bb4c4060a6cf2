"""The one template environment and the one-line flattening every email header and Markdown line relies on."""

import jinja2
import pytest

from prodsupport.core.rendering import environment, one_line


def test_one_line_flattens_every_line_break_and_control_character() -> None:
    assert one_line("a\r\nb\nc\rd\te\u2028f\x85g\x00h") == "a b c d e f g h"


def test_one_line_accepts_any_value_as_its_text() -> None:
    assert one_line(42) == "42"


@pytest.mark.parametrize(
    ("name", "escaped"),
    [("stakeholder_email.html.j2", True), ("stakeholder_email.txt.j2", False), ("postmortem.md.j2", False)],
)
def test_given_a_template_name_then_only_html_is_autoescaped(name: str, escaped: bool) -> None:
    # GIVEN the shared environment WHEN asked about a template by its name
    autoescape = environment().autoescape

    # THEN only the HTML templates escape what people typed
    assert callable(autoescape) and autoescape(name) is escaped


def test_given_a_field_the_template_names_but_the_context_lacks_then_rendering_fails() -> None:
    template = environment().get_template("release_email.txt.j2")

    with pytest.raises(jinja2.UndefinedError):
        template.render(application="Check-In Experience")


def test_the_environment_is_built_once() -> None:
    assert environment() is environment()
