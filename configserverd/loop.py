"""The event loop every listener runs on: uvloop's, in C.

The agents' hot paths are measurably faster on it than on asyncio's own loop, over HTTP and gRPC alike
(`docs/benchmarks.md`). The HTTP listeners run on the main thread's loop (`cli.run_server`),
the gRPC server on its own thread's (`app.ConfigServer`); tests that run a server in their own process use
asyncio's for HTTP, so both loops stay covered.
"""

from uvloop import new_event_loop

__all__ = ["new_event_loop"]
