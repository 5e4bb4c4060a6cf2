"""Placeholder until the PagerDuty issue lands (issue 5): who is on call."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime


def oncall_user(rt: Runtime, now: datetime) -> str:
    return rt.settings.oncall_user_id
