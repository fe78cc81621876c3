"""The composition root: build the store, the fleet domain, the façades and both listeners; stop them in
the reverse order.

    async with ConfigServer(settings) as server:
        await server.crashed()   # or a stop signal: see configserverd.cli

Start, in order (each part an async context manager, unwound in reverse on stop or failure):
  1. open the store (migrations applied)          4. periodic: store health probe, feed pruning
  2. store worker (the store's one thread)        5. heartbeat batcher, its periodic batch, retention
  3. change feed (watch, then load everything)    6. sessions, commands, queries → façades → endpoints →
                                                     gRPC thread → HTTP
Stop, in order:
  1. report not ready (gRPC health NOT_SERVING, /readyz 503); both listeners stop accepting and let calls
     in flight finish within the grace period, concurrently;
  2. the periodic batch stops and the batcher writes the last one; 3. probes and pruning stop, the feed
     stops following the store; 4. the store is closed on its thread.
"""

import asyncio
import gc
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from importlib.metadata import version
from types import TracebackType

from configserverd.loop import new_event_loop
from configserverd.settings import Settings
from console import STATIC
from core.alarms import AlarmBuffer
from core.answers import AnswerBounds
from core.audit import AuditBuffer
from core.clock import Clock, SystemClock
from core.commands import FleetCommands
from core.memory import FleetMemory
from core.queries import FleetQueries
from core.runtime.batcher import HeartbeatBatcher
from core.runtime.feed import PRUNE_INTERVAL, ChangeFeed
from core.runtime.health import HealthProbe, StoreHealth
from core.runtime.lifeline import Lifeline
from core.runtime.observer import Observer
from core.runtime.periodic import Periodic
from core.runtime.retention import Retention, sweep_interval
from core.runtime.worker import StoreWorker
from core.sessions import AgentSessions
from core.store import Store
from core.store.backends import describe_store, open_store
from core.transactions import Transactions
from facades import alpha, contracts, v1, v2
from facades.alpha import AlphaFacade
from facades.v1 import V1Facade
from facades.v2 import V2Facade
from grpc_service.server import GrpcServer
from http_gateway.server import HttpServer
from pipeline.auth import Tokens, check_exposure, is_loopback, parse_user_tokens
from pipeline.calls import Endpoint, endpoints
from pipeline.metrics import PrometheusObserver
from pipeline.tls import load_tls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """The fleet domain, one room per caller, and the runtime parts it stands on, started."""

    sessions: AgentSessions
    commands: FleetCommands
    queries: FleetQueries
    memory: FleetMemory
    health: StoreHealth
    batcher: HeartbeatBatcher
    retention: Retention


async def start_runtime(
    stack: AsyncExitStack,
    store: Store,
    clock: Clock,
    observer: Observer,
    lifeline: Lifeline,
    settings: Settings,
) -> Runtime:
    """Steps 2 to 5 of the start, with their stops pushed on `stack`; the domain on top of them."""
    memory, health, interval, policy = FleetMemory(), StoreHealth(), settings.flush_interval, settings.policy
    alarms, audit = AlarmBuffer(policy.alarm_retention_count), AuditBuffer()
    enter = stack.enter_async_context
    worker = await enter(StoreWorker(store, clock, observer, settings.request_timeout))
    feed = await enter(ChangeFeed(worker, memory, clock, health, lifeline))
    probe = HealthProbe(worker, health, feed.catch_up)
    await enter(Periodic("store-health", interval, probe.probe, clock, lifeline))
    await enter(Periodic("feed-pruner", PRUNE_INTERVAL, feed.prune, clock, lifeline))
    batcher = await enter(
        HeartbeatBatcher(worker, memory.agents, alarms, audit, policy, health, clock, observer)
    )
    await enter(Periodic("heartbeat-batcher", interval, batcher.tick, clock, lifeline))
    retention = Retention(worker, memory, batcher, health, clock, policy)
    await enter(Periodic("retention", sweep_interval(policy), retention.sweep, clock, lifeline))
    transactions = Transactions(memory, worker, feed, health)
    return Runtime(
        sessions=AgentSessions(memory, transactions, alarms, clock, observer),
        commands=FleetCommands(
            transactions, AnswerBounds(memory.agents, policy.max_answer_size), audit, clock, policy
        ),
        queries=FleetQueries(memory, transactions, batcher, clock, policy),
        memory=memory,
        health=health,
        batcher=batcher,
        retention=retention,
    )


def served_endpoints(runtime: Runtime) -> tuple[Endpoint, ...]:
    """Every RPC bound to the façade serving it, and each service to its protocol's refusal answer."""
    served = AlphaFacade(runtime.queries, runtime.commands, runtime.sessions)
    return endpoints(
        {
            **contracts.user_service_handlers(served),
            **contracts.agent_service_handlers(served),
            **contracts.agent_service_v2_handlers(V2Facade(runtime.sessions)),
            **contracts.agent_service_v1_handlers(V1Facade(runtime.sessions)),
        },
        {
            "configserver.proto.UserService": alpha.error_answer,
            "configserver.proto.AgentService": alpha.error_answer,
            "configserver.proto.AgentServiceV2": v2.error_answer,
            "configserver.proto.AgentServiceV1": v1.error_answer,
        },
    )


def warn_agents_cannot_send_tokens(settings: Settings, tokens: Tokens) -> None:
    """LoongCollector and iLogtail agents send no Authorization header: with an Agent API token, their
    paths refuse them. Said once at start when those paths are reachable beyond loopback."""
    exposed = [
        f"{host}:{port}"
        for host, port in (
            (settings.http_host, settings.http_port),
            (settings.v1_http_host, settings.v1_http_port),
        )
        if port is not None and not is_loopback(host)
    ]
    if tokens.agent is not None and exposed:
        log.warning(
            "agent token set: LoongCollector (v2) and iLogtail (v1) agents cannot send it",
            extra={
                "listeners": exposed,
                "advice": "serve them on a private network, or behind a proxy that adds the header",
            },
        )


class ConfigServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: Runtime | None = None
        self.grpc: GrpcServer | None = None
        self.https: list[HttpServer] = []
        self._lifeline: Lifeline | None = None
        self._stack = AsyncExitStack()
        self._stopping = False

    @property
    def tokens(self) -> Tokens:
        settings = self.settings
        return Tokens(
            user=parse_user_tokens(settings.user_token, "the User API token") if settings.user_token else (),
            agent=settings.agent_token.encode() if settings.agent_token else None,
        )

    async def __aenter__(self) -> "ConfigServer":
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        # What was loaded (for 100,000 agents, millions of objects) lives as long as the server. Collected
        # once, then moved out of the collector's generations, no collection scans it again: a full
        # collection's pause then grows with what requests allocate, not with the fleet. Stopping puts it
        # back (`stop`), so that a process that serves again, or a test, can collect it.
        gc.collect()
        gc.freeze()
        assert self.http is not None and self.grpc is not None and self.runtime is not None
        log.info(
            "configserver started",
            extra={
                "version": version("configserver"),
                "store": describe_store(self.settings.store_url),
                "loaded": self.runtime.memory.census(),
                "http_port": self.http.port,
                "grpc_port": self.grpc.port,
            },
        )
        return self

    async def _start(self) -> None:
        settings = self.settings
        tokens = self.tokens
        tls = load_tls(settings.tls_cert, settings.tls_key)
        check_exposure(
            tokens, [settings.http_host, settings.grpc_host], settings.allow_unauthenticated_user_api
        )
        clock, observer = SystemClock(), PrometheusObserver()
        self._lifeline = lifeline = Lifeline()
        loop = asyncio.get_running_loop()
        store = await loop.run_in_executor(None, open_store, settings.store_url)
        self.runtime = runtime = await start_runtime(self._stack, store, clock, observer, lifeline, settings)
        served = served_endpoints(runtime)
        warn_agents_cannot_send_tokens(settings, tokens)
        self._stack.push_async_callback(self._stop_listeners)
        self.grpc = GrpcServer(
            served,
            settings.grpc_host,
            settings.grpc_port,
            ready=self._ready,
            on_crash=lambda error: lifeline.fail(error, "grpc"),
            tokens=tokens,
            audit=runtime.commands.refused,
            tls=tls,
            reuse_port=settings.reuse_port,
            max_in_flight=settings.max_in_flight,
            loop_factory=new_event_loop,
        )
        await loop.run_in_executor(None, self.grpc.start)
        listeners = [(settings.http_host, settings.http_port, "")]
        if settings.v1_http_port is not None:
            listeners.append((settings.v1_http_host, settings.v1_http_port, "v1"))
        for host, port, listener in listeners:
            http = HttpServer(
                [endpoint for endpoint in served if endpoint.rpc.listener == listener],
                host,
                port,
                settings.max_body_size,
                ready=self._ready,
                tokens=tokens,
                audit=runtime.commands.refused,
                tls=tls,
                reuse_port=settings.reuse_port,
                max_in_flight=settings.max_in_flight,
                console=STATIC if settings.ui and not listener else None,
            )
            self.https.append(http)
            http.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _ready(self) -> bool:
        """The store answers (writes and reads can be served) and the server is not stopping."""
        return self.runtime is not None and self.runtime.health.ok and not self._stopping

    async def crashed(self) -> BaseException:
        """Wait until a part cannot go on (already logged with its traceback); the error."""
        assert self._lifeline is not None
        return await self._lifeline.wait()

    async def stop(self) -> None:
        """Report not ready, stop both listeners, then the runtime parts in reverse order of their start."""
        self._stopping = True
        await self._stack.aclose()
        if self.runtime is not None:
            self.runtime = None
            gc.unfreeze()
            log.info("configserver stopped")

    @property
    def http(self) -> HttpServer | None:
        """The main HTTP listener (alpha and v2)."""
        return self.https[0] if self.https else None

    @property
    def http_v1(self) -> HttpServer | None:
        """The v1 listener, when --v1-http-listen is set."""
        return self.https[1] if len(self.https) > 1 else None

    async def _stop_listeners(self) -> None:
        self._stopping = True
        grace = self.settings.grace_period
        https, grpc_server = self.https, self.grpc
        self.https, self.grpc = [], None
        for http in https:
            http.stop_accepting()
        await asyncio.gather(
            grpc_server.stop(grace) if grpc_server is not None else asyncio.sleep(0),
            *(http.drain(grace) for http in https),
        )
