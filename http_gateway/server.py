"""The HTTP listener's lifecycle: bind, serve, and stop in two stages (stop accepting, then drain)."""

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream
from tornado.netutil import bind_sockets
from tornado.web import Application, RedirectHandler, RequestHandler

from http_gateway.console import ConsoleHandler
from http_gateway.exchange import RpcRouter
from http_gateway.probes import ProbeHandler, probe_routes
from http_gateway.routes import MAX_BODY_SIZE_CAP, Gateway
from pipeline.admission import DEFAULT_MAX_IN_FLIGHT
from pipeline.auth import Tokens
from pipeline.calls import AuditSink, Endpoint, Pipeline
from pipeline.tls import TlsFiles

log = logging.getLogger(__name__)


def _log_request(handler: RequestHandler) -> None:
    """One line per failed request of the application (the console's files); successful ones are counted,
    never logged at INFO. A probe answering 503 is not a failed request: it says what the store health
    already logged once."""
    status = handler.get_status()
    if isinstance(handler, ProbeHandler):
        return
    if status >= 500:
        log.error("http request failed", extra={"path": handler.request.path, "status": status})
    elif status >= 400:
        log.debug("http request refused", extra={"path": handler.request.path, "status": status})


def _ssl_context(tls: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert_path, tls.key_path)
    return context


def console_routes(console: Path | None) -> list[Any]:
    """/ui/ and its files, when the console is served."""
    if console is None:
        return []
    return [
        (r"/ui", RedirectHandler, {"url": "/ui/"}),
        (r"/ui/(.*)", ConsoleHandler, {"path": str(console), "default_filename": "index.html"}),
    ]


def _nodelay_kept(value: bool) -> None:
    """Nagle's algorithm stays off: every answer is written whole, so it could only delay one."""


class RpcHttpServer(HTTPServer):
    """Tornado's HTTPServer, with TCP_NODELAY set once per connection. Tornado's HTTP/1 connection turns it
    on as each answer ends and off again after it, two system calls per request, so that a streamed
    answer's pieces coalesce; an RPC answer is one write. The replacement depends on Tornado asking the
    stream (`set_nodelay`): `tests/test_nodelay.py` fails when it no longer does."""

    def handle_stream(self, stream: IOStream, address: tuple[str, int]) -> None:
        stream.set_nodelay(True)
        setattr(stream, "set_nodelay", _nodelay_kept)  # noqa: B010 - replaces the method on this stream only
        super().handle_stream(stream, address)


class HttpServer:
    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        host: str,
        port: int,
        max_body_size: int,
        ready: Callable[[], bool],
        tokens: Tokens,
        audit: AuditSink,
        tls: TlsFiles | None = None,
        reuse_port: bool = False,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        console: Path | None = None,
    ) -> None:
        if not 0 < max_body_size <= MAX_BODY_SIZE_CAP:
            raise ValueError(f"max body size must be between 1 and {MAX_BODY_SIZE_CAP} bytes")
        self._gateway = Gateway.build(
            endpoints, max_body_size, Pipeline("http", tokens, max_in_flight, audit)
        )
        routes = [*probe_routes(ready), *console_routes(console)]
        application = Application(routes, log_function=_log_request)
        self._server = RpcHttpServer(
            RpcRouter(self._gateway, application, routes),
            max_body_size=MAX_BODY_SIZE_CAP,
            idle_connection_timeout=300,
            ssl_options=_ssl_context(tls) if tls else None,
        )
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self.port = 0

    def start(self) -> None:
        """Bind and start serving on the running loop; `port` is then the bound port."""
        sockets = bind_sockets(self._port, self._host, reuse_port=self._reuse_port)
        self.port = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)
        log.info("http listening", extra={"host": self._host, "port": self.port})

    def stop_accepting(self) -> None:
        self._server.stop()

    async def drain(self, grace: float) -> None:
        """Let requests in flight finish for up to `grace` seconds, then close every connection."""
        try:
            await asyncio.wait_for(self._gateway.idle.wait(), grace)
        except TimeoutError:
            log.warning("http requests cut at shutdown", extra={"in_flight": self._gateway.in_flight})
        await self._server.close_all_connections()
