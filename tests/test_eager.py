"""A call starts at once and becomes a task only when it waits (`http_gateway.eager`), on every Python the
package claims: what it answers from memory is done when `start` returns, what waits goes on and ends, a
cancellation reaches it where it waits, a timeout inside it never acts on its caller's task, and on Python
3.11, where its first step runs as the caller's task, no code a call runs uses what asyncio scopes by the
current task. Both loops the server runs on: asyncio's and uvloop's."""

import ast
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from http_gateway import eager

ROOT = Path(__file__).resolve().parent.parent
LOOPS: list[Callable[[], asyncio.AbstractEventLoop]] = [asyncio.new_event_loop, uvloop.new_event_loop]


@pytest.fixture(params=LOOPS, ids=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    def running(main: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=request.param) as runner:
            return runner.run(main)

    return running


def test_a_call_that_never_waits_is_done_when_start_returns(run: Callable[..., Any]) -> None:
    done: list[str] = []

    async def answered_from_memory() -> None:
        done.append("answered")

    async def main() -> None:
        assert eager.start(answered_from_memory()) is None
        assert done == ["answered"]

    run(main())


def test_a_call_that_waits_goes_on_as_a_task(run: Callable[..., Any]) -> None:
    steps: list[str] = []

    async def waits_for_the_store(store: "asyncio.Future[str]") -> None:
        steps.append("first step")
        steps.append(await store)

    async def main() -> None:
        store: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = eager.start(waits_for_the_store(store))
        assert task is not None and steps == ["first step"]
        store.set_result("committed")
        await task
        assert steps == ["first step", "committed"]

    run(main())


def test_a_cancellation_reaches_the_call_where_it_waits(run: Callable[..., Any]) -> None:
    seen: list[str] = []

    async def waiting(store: "asyncio.Future[None]") -> None:
        try:
            await store
        except asyncio.CancelledError:
            seen.append("cancelled at its wait")
            raise

    async def main() -> None:
        store: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = eager.start(waiting(store))
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert seen == ["cancelled at its wait"] and store.cancelled()

    run(main())


def test_a_timeout_inside_a_call_never_cancels_its_callers_task(run: Callable[..., Any]) -> None:
    """The store worker's wait: `asyncio.wait_for` on work that takes longer than its deadline. The
    caller's task (Tornado's connection) goes on to serve its next request."""
    outcome: list[str] = []

    async def times_out() -> None:
        slow: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(slow, 0.01)
        except TimeoutError:
            outcome.append("RequestTimeout")

    async def connection() -> str:
        task = eager.start(times_out())
        assert task is not None
        await task
        await asyncio.sleep(0.05)  # past the call's deadline: this task is not the one that times out
        return "next request served"

    async def main() -> str:
        return await asyncio.get_running_loop().create_task(connection())

    assert run(main()) == "next request served"
    assert outcome == ["RequestTimeout"]


SCOPED_BY_TASK = {"timeout", "timeout_at", "TaskGroup", "current_task"}
"""What asyncio scopes by the current task: on Python 3.11 a call's first step runs as its caller's."""
LAYERS = ("core", "facades", "pipeline", "http_gateway")


def test_no_code_a_call_runs_uses_what_asyncio_scopes_by_the_current_task() -> None:
    found = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "asyncio"
                    and node.attr in SCOPED_BY_TASK
                ):
                    found.append(f"{where} asyncio.{node.attr}")
                if isinstance(node, ast.ImportFrom) and node.module == "asyncio":
                    found.extend(
                        f"{where} {alias.name}" for alias in node.names if alias.name in SCOPED_BY_TASK
                    )
    assert found == []
