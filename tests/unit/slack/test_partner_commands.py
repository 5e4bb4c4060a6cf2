"""`/incident partners` and `/incident <id> partner <name…>` parsed into plain values."""

from __future__ import annotations

import pytest

from prodsupport.core.errors import UserError
from prodsupport.slack.commands import ListPartners, TagPartners, parse_incident


def test_partners_lists_the_directory() -> None:
    assert parse_incident("partners") == ListPartners()


def test_partner_takes_the_names_as_typed() -> None:
    assert parse_incident("inc-2026-0001 partner Lighthouse APIs, chip") == TagPartners(
        "INC-2026-0001", "Lighthouse APIs, chip"
    )


def test_partner_without_a_name_asks_for_one() -> None:
    with pytest.raises(UserError, match="The partner is missing"):
        parse_incident("INC-2026-0001 partner")
