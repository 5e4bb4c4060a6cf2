"""Slack markup read back as what the person meant, so it is escaped once, for its medium, on the way out."""

import pytest

from prodsupport.core.mrkdwn import escape_placeholders, plain_text


@pytest.mark.parametrize(
    ("slack", "meant"),
    [
        ("p95 latency &gt; 2s &amp; rising", "p95 latency > 2s & rising"),
        (
            "on <https://app.datadoghq.com/monitors/1|check-in-api>",
            "on check-in-api (https://app.datadoghq.com/monitors/1)",
        ),
        ("see <https://va.gov>", "see https://va.gov"),
        ("cc <@U0PM|pat> and <@U0ENG>", "cc @pat and @U0ENG"),
        ("in <#C0PRODSUP|check-in-production-support>", "in #check-in-production-support"),
        ("<!channel> look", "@channel look"),
        ("mail <mailto:a@va.gov|a@va.gov>", "mail a@va.gov"),
        ("a &lt;script&gt; tag", "a <script> tag"),
    ],
)
def test_markup_becomes_plain_text(slack: str, meant: str) -> None:
    assert plain_text(slack) == meant


def test_usage_placeholders_are_escaped_but_mentions_and_links_stay() -> None:
    text = "Use `/incident <id> status <text>`; <@U0PM> owns it, see <https://va.gov|docs>."
    assert escape_placeholders(text) == (
        "Use `/incident &lt;id&gt; status &lt;text&gt;`; <@U0PM> owns it, see <https://va.gov|docs>."
    )
