"""Start a request's coroutine as a task that runs at once, on the caller's stack, where Python can.

Most agent calls never wait: a heartbeat of a known agent, a config list, a v2 heartbeat are answered from
memory. Started eagerly, such a call writes its answer before the connection's `finish` returns, so Tornado
neither schedules a step nor registers the socket for a close callback and unregisters it again. A call
that does wait (for the store) goes on as the same task from where it stopped.

On Python 3.12 and later this is asyncio's own eager start (`asyncio.Task(..., eager_start=True)`): the
task exists before its first step runs, and that step runs as the current task, so a timeout or a
cancellation inside the call acts on the call, never on the connection that received it. Python 3.11 has no
eager start: there the call is an ordinary task, whose first step runs on the loop's next turn.
"""

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

EAGER = sys.version_info >= (3, 12)
"""Whether calls start at once (asyncio's eager start) or on the loop's next turn."""


def start(coroutine: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
    """A task running `coroutine`: already done when it never had to wait, on Python 3.12 and later."""
    loop = asyncio.get_running_loop()
    if sys.version_info >= (3, 12):
        return asyncio.Task(coroutine, loop=loop, eager_start=True)
    return loop.create_task(coroutine)
