"""The local stack's own log lines (requests, ticks, handler failures), on a handler of their own.

Powertools' Logger(service="prodsupport") puts a filter on every root handler that drops records whose
logger name *contains* "prodsupport" (`SuppressFilter` tests `service in record.name`), meant for its own
child loggers. "prodsupport_local…" contains it too, so once a handler had loaded, the local stack's lines
sent through the root handler vanished. They are written by this handler instead, and do not propagate
to the root, so no filter a library adds there can hide them.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

NAMESPACE = "prodsupport_local"


class _LocalHandler(logging.StreamHandler[TextIO]):
    """Marks the handler this module installed, so configuring twice replaces it instead of doubling lines."""


def show_local_logs(level: int, fmt: str, stream: TextIO | None = None) -> logging.Handler:
    """Write the local stack's records at `level` and above to `stream` (stderr) in `fmt`."""
    logger = logging.getLogger(NAMESPACE)
    for old in [handler for handler in logger.handlers if isinstance(handler, _LocalHandler)]:
        logger.removeHandler(old)
    handler = _LocalHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
