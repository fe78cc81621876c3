"""Run a coroutine at once, on the caller's stack, and make it a task only if it has to wait.

Most agent calls never wait: a heartbeat of a known agent, a config list, a v2 heartbeat are answered from
memory. Run at once, such a call writes its answer before the connection's `finish` returns, so Tornado
neither schedules a task nor registers the socket for a close callback and unregisters it again, which
issue 13's profile showed at 7% of a heartbeat. A call that does wait (for the store) goes on as a task
from where it stopped. This is Python 3.12's `eager_task_factory`, which 3.11 lacks.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any


def start(coroutine: Coroutine[Any, Any, None]) -> "asyncio.Task[None] | None":
    """Run `coroutine` until it finishes (None) or first waits (the task that finishes it)."""
    try:
        waiting_for = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_resume(coroutine, waiting_for))


async def _resume(coroutine: Coroutine[Any, Any, None], waiting_for: Any) -> None:
    """Drive a started coroutine as a task would: wait for what it yielded, then send it on."""
    try:
        while True:
            if waiting_for is None:  # a bare yield (asyncio.sleep(0)): give the loop one turn
                await asyncio.sleep(0)
            else:
                await asyncio.wait((waiting_for,))  # its outcome is the coroutine's to read
            try:
                waiting_for = coroutine.send(None)
            except StopIteration:
                return
    finally:
        coroutine.close()
