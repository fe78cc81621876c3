"""Start a request's coroutine at once, on the caller's stack, and make it a task only if it has to wait.

Most agent calls never wait: a heartbeat of a known agent, a config list, a v2 heartbeat are answered from
memory. Run at once, such a call writes its answer before the connection's `finish` returns, so Tornado
neither schedules a step nor registers the socket for a close callback and unregisters it again. A call
that does wait (for the store) goes on as a task from where it stopped.

- Python 3.12 and later: asyncio's own eager start (`asyncio.Task(..., eager_start=True)`). The task
  exists before its first step runs, and that step runs as the current task, so a timeout or a
  cancellation inside the call acts on the call, never on the connection that received it.
- Python 3.11 has no eager start, so the first step is driven by hand (`_by_hand`), and it runs while the
  connection's task is the current one. What asyncio scopes by the current task (`asyncio.timeout`,
  `asyncio.TaskGroup`, `asyncio.current_task`) would then act on the connection: no code a call runs uses
  them (`tests/test_eager.py` reads the layers for them; `asyncio.wait_for`, which the store worker uses,
  runs its own inner task on 3.11). From its first wait on, the call is a task of its own, which a
  cancellation reaches as `CancelledError` at the point it waits, as in any task.
"""

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

EAGER_TASKS = sys.version_info >= (3, 12)
"""Whether asyncio starts the tasks itself (3.12+), or the first step is driven by hand (3.11)."""


def start(coroutine: Coroutine[Any, Any, None]) -> "asyncio.Task[None] | None":
    """Run `coroutine` until it finishes (None) or first waits (the task that goes on with it)."""
    if sys.version_info >= (3, 12):
        task = asyncio.Task(coroutine, loop=asyncio.get_running_loop(), eager_start=True)
        return None if task.done() else task
    return _by_hand(coroutine)


def _by_hand(coroutine: Coroutine[Any, Any, None]) -> "asyncio.Task[None] | None":
    """Python 3.11: the first step on this stack, the rest as a task."""
    try:
        waiting_for = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_resume(coroutine, waiting_for))


async def _resume(coroutine: Coroutine[Any, Any, None], waiting_for: Any) -> None:
    """Drive a started coroutine as its task would: wait for what it yielded, then send it on; a
    cancellation of this task cancels what it waits for and is thrown into it where it waits."""
    while True:
        try:
            if waiting_for is None:  # a bare yield (asyncio.sleep(0)): give the loop one turn
                await asyncio.sleep(0)
            else:
                await asyncio.wait((waiting_for,))  # its outcome is the coroutine's to read
        except asyncio.CancelledError as cancelled:
            if waiting_for is not None:
                waiting_for.cancel()
            try:
                waiting_for = coroutine.throw(cancelled)
            except StopIteration:
                return
            continue
        try:
            waiting_for = coroutine.send(None)
        except StopIteration:
            return
