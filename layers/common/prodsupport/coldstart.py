"""The cyclic garbage collector held off while a Lambda container loads, until its first response is given.

What a cold start makes (modules, classes, functions, Powertools' and botocore's tables, the clients) lives as long
as the container, so each pass the collector makes over it while it loads finds nothing to free: about 30 ms of the
Slack and PagerDuty functions' whole first response (init and first event together, docs/performance.md). So a
handler module imports this module first, which turns the collector off when it runs in Lambda, and calls
`release()` when its first invocation ends: what the load made goes to the permanent generation (`gc.freeze()`),
which later passes skip, and the collector runs as usual from then on. Garbage is still freed by reference
counting meanwhile; only cycles wait, for one invocation.

Only in Lambda (`AWS_LAMBDA_FUNCTION_NAME`, which Lambda sets in every function's environment): a test or replay
process that imports a handler keeps its collector as it was.
"""

from __future__ import annotations

import gc
import os

_held = False


def hold() -> None:
    """Turn the collector off for the load, in Lambda, if it is on; run when this module is first imported."""
    global _held  # noqa: PLW0603 - one container, one load
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and gc.isenabled():
        gc.disable()
        _held = True


def release() -> None:
    """After the first invocation: freeze what the load made and turn the collector back on; later calls do nothing."""
    global _held  # noqa: PLW0603
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


hold()
