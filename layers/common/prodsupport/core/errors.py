"""The one error a person is shown: raised by any domain, answered once at the edge.

A `UserError`'s message is written for the person who asked (what was wrong, what to do instead); the
Slack router turns it into an ephemeral answer or a form error, and the operator CLIs print it. Nothing is
changed by a request that ends in one.
"""

from __future__ import annotations


class UserError(ValueError):
    """Input or a request the rules refuse; the message tells the person what was expected."""
