"""Liveness and readiness for load balancers and orchestrators.

`/healthz`: 200 while the process serves HTTP at all. `/readyz`: 200 while the store answers and the
server is not shutting down, else 503, so that a load balancer sends traffic elsewhere. Both answer
GET and HEAD with a small JSON body.
"""

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST
from tornado.web import RequestHandler

from pipeline import metrics


class ProbeHandler(RequestHandler):
    def initialize(self, check: Callable[[], bool], up: str, down: str) -> None:
        self._check = check
        self._up = up
        self._down = down

    def get(self) -> None:
        ok = self._check()
        self.set_status(200 if ok else 503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(f'{{"status": "{self._up if ok else self._down}"}}\n')

    head = get


class MetricsHandler(RequestHandler):
    """Prometheus text format: this process's metrics, or every worker's with --workers."""

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(metrics.exposition())


def probe_routes(ready: Callable[[], bool]) -> list[tuple[str, type[RequestHandler], dict[str, object]]]:
    return [
        (r"/metrics/?", MetricsHandler, {}),
        (r"/healthz/?", ProbeHandler, {"check": lambda: True, "up": "alive", "down": "dead"}),
        (r"/readyz/?", ProbeHandler, {"check": ready, "up": "ready", "down": "not ready"}),
    ]
