"""The gRPC listener on its own thread and event loop.

On the HTTP gateway's loop, grpc.aio starves under HTTP load (it re-arms one pending accept per method
per loop turn: measured 56 of 1,000 req/s getting through beside saturated HTTP). On a loop of its own
it keeps answering; the fleet domain is shared across the two loops (its store work runs on the store
worker's thread, its reads take immutable snapshots). Health checking and server reflection are served
beside the RPCs, so that grpcurl and grpc_health_probe work.

If the thread dies once serving (a bug, or grpc failing), `on_crash` is told why: the root logs it and
exits non-zero, so that a supervisor restarts the process instead of it serving HTTP alone.
"""

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from grpc_service.servicer import generic_handlers
from pipeline.admission import DEFAULT_MAX_IN_FLIGHT
from pipeline.auth import Tokens
from pipeline.calls import AuditSink, Endpoint, Pipeline
from pipeline.tls import TlsFiles

log = logging.getLogger(__name__)

HEALTH_INTERVAL = 0.25
"""Seconds between two readings of readiness for the health service."""


class GrpcServer:
    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        host: str,
        port: int,
        ready: Callable[[], bool],
        on_crash: Callable[[BaseException], None],
        tokens: Tokens,
        audit: AuditSink,
        tls: TlsFiles | None = None,
        reuse_port: bool = False,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
    ) -> None:
        self._endpoints = tuple(endpoints)
        self._loop_factory = loop_factory
        self._service_names = tuple(dict.fromkeys(endpoint.rpc.service for endpoint in self._endpoints))
        self._on_crash = on_crash
        self._address = f"{host}:{port}"
        self._host = host
        self._reuse_port = reuse_port
        self._ready = ready
        self._tls = tls
        self._pipeline = Pipeline("grpc", tokens, max_in_flight, audit)
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="grpc", daemon=True)
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._serving = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._grace = 0.0
        self._health = health.aio.HealthServicer()  # type: ignore[attr-defined]  # lazily exported

    def start(self) -> None:
        """Start the thread and return once the port is bound (or raise why it could not be)."""
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        self._loop = self._loop_factory()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as error:
            if self._serving:
                self._on_crash(error)
            else:
                self._failure = error
                self._started.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop_requested = asyncio.Event()
        # grpc sets SO_REUSEPORT by default: a second server on a taken port would silently share it.
        # Only the workers of one server share their ports (and the parent checked they were free).
        server = grpc.aio.server(options=[("grpc.so_reuseport", int(self._reuse_port))])
        server.add_generic_rpc_handlers(generic_handlers(self._endpoints, self._pipeline))
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        if self._tls is None:
            self.port = server.add_insecure_port(self._address)
        else:
            credentials = grpc.ssl_server_credentials([(self._tls.key, self._tls.cert)])
            self.port = server.add_secure_port(self._address, credentials)
        await server.start()
        reporter = asyncio.create_task(self._report_health())
        log.info("grpc listening", extra={"host": self._host, "port": self.port})
        self._serving = True
        self._started.set()
        stopped = asyncio.create_task(self._stop_requested.wait())
        try:
            await asyncio.wait((stopped, reporter), return_when=asyncio.FIRST_COMPLETED)
            if not stopped.done():
                stopped.cancel()
                reporter.result()  # the reporter never ends by itself: this raises why it ended
        finally:
            reporter.cancel()
            await self._health.enter_graceful_shutdown()
            await server.stop(self._grace)

    async def _report_health(self) -> None:
        """Keep the health service in step with readiness (store reachable, not shutting down)."""
        reported = None
        while True:
            serving = self._ready()
            if serving != reported:
                status = (
                    health_pb2.HealthCheckResponse.SERVING
                    if serving
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                for name in ("", *self._service_names):
                    await self._health.set(name, status)
                reported = serving
            await asyncio.sleep(HEALTH_INTERVAL)

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, stop accepting, let calls in flight finish within `grace`, end the thread."""
        if self._loop is None or self._stop_requested is None or not self._thread.is_alive():
            return
        self._grace = grace
        self._loop.call_soon_threadsafe(self._stop_requested.set)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
