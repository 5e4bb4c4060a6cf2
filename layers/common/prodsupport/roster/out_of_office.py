"""Whether the PM is out of office, and so who owns the stakeholder email right now.

The playbook hands the email to a named backup while the PM is out. People forget `/prodsupport ooo on`
but do set a Slack status before leaving, so the PM's status counts too: an out-of-office status text
or the :palm_tree: emoji (Slack's own "Vacationing" status) means the backup owns the email.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError

if TYPE_CHECKING:
    from prodsupport.runtime import Runtime

logger = Logger(child=True)
OUT_EMOJI = frozenset({":palm_tree:"})
OUT_TEXT_RE = re.compile(
    r"\b(ooo|out[ -]of[ -](the[ -])?office|on (vacation|leave|holiday|pto)|vacationing|pto|annual leave)\b",
    re.IGNORECASE,
)


def status_says_out(profile: Mapping[str, Any]) -> bool:
    """A Slack profile's status, read the way a colleague would read it."""
    emoji = str(profile.get("status_emoji") or "")
    text = str(profile.get("status_text") or "")
    return emoji in OUT_EMOJI or bool(OUT_TEXT_RE.search(text))


def email_owner(rt: Runtime) -> str:
    """The roster's owner, unless the PM's Slack status says they are out and a backup is named.

    Slack is asked only when the answer could change (a PM and a backup are set and the roster does not
    already say the PM is out). If Slack cannot answer, the roster's answer stands: a reminder to the PM
    beats no owner at all.
    """
    roster = rt.roster.load()
    if roster.pm_out_of_office or not roster.pm_user_id or not roster.backup_pm_user_id:
        return roster.email_owner
    try:
        profile = rt.slack.users_profile_get(user=roster.pm_user_id).get("profile") or {}
    except (SlackApiError, OSError) as exc:
        logger.warning("could not read the PM's Slack status; the roster decides", error=type(exc).__name__)
        return roster.email_owner
    return roster.backup_pm_user_id if status_says_out(profile) else roster.pm_user_id
