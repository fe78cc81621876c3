"""Prometheus metrics: requests by transport, RPC and code, their latency, shed requests, store latency,
the agents known and seen in the last minute, alarms by type, and what bounded buffers dropped.

With `--workers`, the parent sets PROMETHEUS_MULTIPROC_DIR before any worker imports prometheus_client,
so that every worker writes its counts to shared files and `/metrics` on any worker reports them all
(counters and histograms summed; the agent gauges are the largest worker's value: each worker knows
every agent, but sees the heartbeats sent to it).

Recording a request costs a dict lookup and two updates; children are created once per label set.
"""

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

REQUESTS = Counter("configserver_requests", "Requests answered", ["transport", "rpc", "code"])
REQUEST_SECONDS = Histogram(
    "configserver_request_seconds", "Time to answer a request", ["transport", "rpc"], buckets=LATENCY_BUCKETS
)
SHED = Counter("configserver_shed_requests", "Requests shed with ServerBusy", ["transport", "api"])
STORE_SECONDS = Histogram(
    "configserver_store_seconds",
    "Time of store work on the store thread",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
AGENTS_KNOWN = Gauge("configserver_agents_known", "Agents registered", multiprocess_mode="livemax")
AGENTS_SEEN = Gauge(
    "configserver_agents_seen_last_minute",
    "Agents whose last heartbeat is under a minute old",
    multiprocess_mode="livemax",
)

AGENTS = Gauge(
    "configserver_agents",
    "Agents by status (this server's view of their heartbeats)",
    ["status"],
    multiprocess_mode="livemax",
)
ALARMS = Counter("configserver_alarms", "Alarms received, by type", ["type"])
MAX_ALARM_TYPES = 100
"""Distinct alarm types counted under their own label; the others under `other`, so that agents cannot
grow the label set."""

DROPPED = Counter(
    "configserver_dropped",
    "Items a bounded buffer dropped because it was full, by what they were (alarm, audit_event)",
    ["what"],
)

_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def record(transport: str, rpc: str, code: str, seconds: float) -> None:
    key = (transport, rpc, code)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (
            REQUESTS.labels(transport, rpc, code),
            REQUEST_SECONDS.labels(transport, rpc),
        )
    found[0].inc()
    found[1].observe(seconds)


def shed(transport: str, api: str) -> None:
    SHED.labels(transport, api).inc()


def exposition() -> bytes:
    """The text format of every metric, of this process or of all workers."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        from prometheus_client import REGISTRY

        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


class PrometheusObserver:
    """What the core's runtime reports (`core.runtime.observer.Observer`), as Prometheus metrics."""

    def __init__(self) -> None:
        self._store: dict[str, Histogram] = {}
        self._alarms: dict[str, Counter] = {}

    def store_time(self, operation: str, seconds: float) -> None:
        histogram = self._store.get(operation)
        if histogram is None:
            histogram = self._store[operation] = STORE_SECONDS.labels(operation)
        histogram.observe(seconds)

    def fleet_size(self, known: int, seen_last_minute: int, online: int) -> None:
        AGENTS_KNOWN.set(known)
        AGENTS_SEEN.set(seen_last_minute)
        AGENTS.labels("online").set(online)
        AGENTS.labels("offline").set(known - online)

    def alarm(self, kind: str) -> None:
        counter = self._alarms.get(kind)
        if counter is None:
            label = kind if len(self._alarms) < MAX_ALARM_TYPES else "other"
            counter = ALARMS.labels(label)
            if label != "other":
                self._alarms[kind] = counter
        counter.inc()

    def dropped(self, what: str, count: int) -> None:
        DROPPED.labels(what).inc(count)
