"""Work a cold delivery would otherwise wait for one piece after another, started early in the background.

A cold container's first delivery does one thing after another before it answers: it verifies, writes its claim
and its change, then posts. What its post needs besides (the Slack secret, the TLS context, the roster for an
owner) depends on none of that, so it starts early, on a small pool of threads, while the delivery goes on
with what it must do in order. Each is taken where it is used; when it failed, the use does it again in line,
so what a delivery fails with is its own attempt, made where it always was. (Work ahead can outlive its
invocation: a duplicate answers at once, and Lambda freezes the container with the read in flight.)

Only reads and local work go ahead, never an effect: a delivery that turns out to be a duplicate has at most
read something for nothing, once per container (what goes ahead is cached for the container afterwards).
Clients are made by the caller before it hands work over (boto3 does not make clients safely from several
threads at once); the clients themselves are safe to share.

The pool is made with the first work of a container, never at import, so SnapStart captures no thread.
Building a TLS context (reading the CA bundle) releases the GIL, and a read waits on the network, so both
overlap the caller's own work; on a function with a fraction of a vCPU it is the caller's network waits they
fill (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

# One for each piece a delivery starts: the TLS context, the Slack client and the roster. The client waits for
# the TLS context, which was started before it, so no piece ever waits for one queued behind it.
WORKERS = 3

_pool: ThreadPoolExecutor | None = None


def start[T](work: Callable[[], T]) -> Future[T]:
    """Run `work` on the container's pool; take its value (or its error) with `.result()` where it is used."""
    global _pool  # noqa: PLW0603 - one pool per container, made on first use
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - a path that starts nothing does not load it

        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ahead")
    return _pool.submit(work)
