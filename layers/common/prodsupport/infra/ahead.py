"""Work a delivery would otherwise wait for one piece after another, started early in the background.

A delivery does one thing after another before it answers: it verifies, writes its claim and its change, then
posts; a cold container's first one also reads its secrets and makes its clients. What its post needs besides
(the TLS context, the Slack secret and client, the roster for an owner) depends on none of that, so it starts
early, on a small pool of threads, while the delivery goes on with what it must do in order. Each is taken where
it is used (`Future.result`), which raises what the work raised: the delivery fails where it did when the work
ran in line. A read ahead belongs to the invocation that started it: the next one drops what was never taken
(`drop`, from `Runtime.begin`), since Lambda may have frozen the container with it in flight. The TLS context,
local work that needs no input, is kept for whoever takes it.

Only reads and local work go ahead, never an effect, and reads only once the delivery's claim is made, so a
duplicate reads nothing more (the TLS context, which needs no input and no request, is started on arrival).
Clients are made by the caller before it hands work over (boto3 does not make clients safely from several
threads at once); the clients themselves are safe to share.

The pool is made with the first work of a container, never at import, so SnapStart captures no thread.
OpenSSL reads the CA bundle for a TLS context without holding the GIL, and a read waits on the network, so both
overlap the caller's own work; on a function with a fraction of a vCPU it is the caller's network waits they
fill (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

# One for each piece a delivery starts: the TLS context, the Slack client and the roster. The client waits for
# the TLS context, which was started before it, so no piece ever waits for one queued behind it.
WORKERS = 3

_pool: ThreadPoolExecutor | None = None


def drop(started: Future[Any]) -> None:
    """Forget work an earlier invocation started and never took: cancelled if it has not begun. Work still
    running (its container was frozen with a read in flight) keeps its thread until its own timeout, so the
    pool is replaced: no new work waits behind it."""
    global _pool  # noqa: PLW0603 - see start
    if started.cancel() or started.done() or _pool is None:
        return
    _pool.shutdown(wait=False)
    _pool = None


def start[T](work: Callable[[], T]) -> Future[T]:
    """Run `work` on the container's pool; take its value (or its error) with `.result()` where it is used."""
    global _pool  # noqa: PLW0603 - one pool per container, made on first use
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - a path that starts nothing does not load it

        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ahead")
    return _pool.submit(work)
