"""The composition root: build the store, the core and both listeners; stop them in order.

async with ConfigServer(settings) as server:   # store -> core -> gRPC thread -> HTTP
    await stop_signal                           # serve
                                                # exit: stop accepting on both listeners, let calls in
                                                # flight finish within the grace period, then flush
                                                # the heartbeat batch and close the store
"""

import asyncio
import logging
from types import TracebackType

from configserverd.settings import Settings
from core.service import ConfigService
from core.state import State
from core.store import open_store
from grpc_service.server import GrpcServer
from http_gateway.server import HttpServer
from pipeline.auth import Tokens, check_exposure
from pipeline.tls import load_tls

log = logging.getLogger(__name__)


class ConfigServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state: State | None = None
        self.service: ConfigService | None = None
        self.grpc: GrpcServer | None = None
        self.http: HttpServer | None = None
        self._stopping = False

    @property
    def tokens(self) -> Tokens:
        settings = self.settings
        return Tokens(
            user=settings.user_token.encode() if settings.user_token else None,
            agent=settings.agent_token.encode() if settings.agent_token else None,
        )

    async def __aenter__(self) -> "ConfigServer":
        settings = self.settings
        tokens = self.tokens
        tls = load_tls(settings.tls_cert, settings.tls_key)
        check_exposure(
            tokens, [settings.http_host, settings.grpc_host], settings.allow_unauthenticated_user_api
        )
        loop = asyncio.get_running_loop()
        store = await loop.run_in_executor(None, open_store, settings.store_url)
        self.state = State(
            store, flush_interval=settings.flush_interval, store_timeout=settings.request_timeout
        )
        self.service = ConfigService(self.state)
        try:
            await self.state.start()
            self.grpc = GrpcServer(
                self.service,
                settings.grpc_host,
                settings.grpc_port,
                ready=self._ready,
                tokens=tokens,
                tls=tls,
                reuse_port=settings.reuse_port,
                max_in_flight=settings.max_in_flight,
            )
            await loop.run_in_executor(None, self.grpc.start)
            self.http = HttpServer(
                self.service,
                settings.http_host,
                settings.http_port,
                settings.max_body_size,
                ready=self._ready,
                tokens=tokens,
                tls=tls,
                reuse_port=settings.reuse_port,
                max_in_flight=settings.max_in_flight,
            )
            self.http.start()
        except BaseException:
            await self.stop()
            raise
        log.info("configserver started", extra={"http_port": self.http.port, "grpc_port": self.grpc.port})
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _ready(self) -> bool:
        return self.state is not None and self.state.ready and not self._stopping

    async def stop(self) -> None:
        """Report not ready, stop accepting on both listeners, drain them, then close the state."""
        self._stopping = True
        grace = self.settings.grace_period
        http, grpc_server, state = self.http, self.grpc, self.state
        self.http = self.grpc = None
        self.state = self.service = None
        if http is not None:
            http.stop_accepting()
        await asyncio.gather(
            grpc_server.stop(grace) if grpc_server is not None else asyncio.sleep(0),
            http.drain(grace) if http is not None else asyncio.sleep(0),
        )
        if state is not None:
            await state.close()
            log.info("configserver stopped")
