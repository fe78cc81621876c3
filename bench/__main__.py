"""`make bench`: throughput and latency of the server beside a bare handler of its own stack.

    python -m bench [--seconds 5] [--out docs/benchmarks.md]

For every workload, transport (HTTP via wrk, gRPC via h2load) and worker count (1 and every core), the
server runs on a fleet of 1,000 agents with 10 configs and one of 100,000 agents with 1,000 configs (100
groups: every agent holds 10 configs of 2 KB either way); then a bare handler that only decodes the
request and answers the server's own answer bytes runs the same load. The ratio server/bare is the
figure to watch: how close the server is to the limit of its stack on this machine. The server's own
counters (/metrics) are read around each run to cross-check the load generator.
"""

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.beside import Beside, beside
from bench.fleet import LARGE, SMALL, Fleet, agent_id, agent_tags, heartbeat, populate
from bench.load import CONNECTIONS, Result, run_h2load, run_wrk
from bench.servers import bare, resident_kib, server
from configserver.proto import agent_pb2, user_pb2
from configserver.proto.v2 import agent_v2_pb2 as v2

LOAD_AGENTS = 1_000
"""Distinct agents the HTTP load cycles through."""
WORKLOADS = ["HeartBeat", "GetConfigList steady", "GetConfigList cold", "mixed", "v2 Heartbeat steady",
             "v2 Heartbeat, a connection each", "ListAgents 10,000", "ListAgents page of 1,000",
             "GetConfigStatus 1,000 targeted"]  # fmt: skip
HTTP_ONLY = {"v2 Heartbeat steady", "v2 Heartbeat, a connection each"}
"""LoongCollector's heartbeat, as it sends it: over HTTP, all its configs current and APPLIED; the second
with one TCP connection per request, as LoongCollector opens them."""
ROUNDS = 2
"""Runs per figure at full speed, the best kept: on a shared virtual machine, interference from outside only
ever slows a run down (one 5 s run read HeartBeat 20% low with nothing changed)."""
TAIL_WORKLOADS = {"HeartBeat", "GetConfigList steady", "mixed", "v2 Heartbeat, a connection each"}
"""Measured again at TAIL_LOAD of their maximum, for the tail latency and the agents one core serves."""
TAIL_LOAD = 0.8
HEARTBEAT_INTERVAL = 10
"""Seconds between an agent's heartbeats, for "agents served per core"."""
LARGE_ONLY = {"ListAgents 10,000", "ListAgents page of 1,000", "GetConfigStatus 1,000 targeted"}
"""Operator workloads, on the fleet of 100,000 agents only."""
HEARTBEAT, CONFIG_LIST, V2_HEARTBEAT = "/Agent/HeartBeat", "/Agent/GetConfigList", "/Agent/Heartbeat"
GRPC = {HEARTBEAT: "/configserver.proto.AgentService/HeartBeat", CONFIG_LIST: "/configserver.proto.AgentService/GetConfigList",
        "/User/ListAgents": "/configserver.proto.UserService/ListAgents",
        "/User/GetConfigStatus": "/configserver.proto.UserService/GetConfigStatus",
        V2_HEARTBEAT: "/configserver.proto.AgentServiceV2/Heartbeat"}  # fmt: skip


def v2_heartbeat(fleet: Fleet, index: int) -> bytes:
    """A LoongCollector heartbeat holding every config of the agent at its current version (wire 1)."""
    ip = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
    return v2.HeartbeatRequest(
        request_id=f"{index:08X}-0000-11D2-883F-0016D3CCA427".encode(), sequence_num=7, capabilities=3,
        instance_id=agent_id(index).encode(), agent_type="LoongCollector",
        attributes=v2.AgentAttributes(version=b"3.3.5", ip=ip.encode(), hostname=f"host-{index}".encode()),
        tags=[v2.AgentGroupTag(name=name, value=value) for name, value in sorted(agent_tags(index).items())],
        running_status="running", startup_time=1_700_000_000,
        continuous_pipeline_configs=[
            v2.ConfigInfo(name=name, version=1, status=v2.APPLIED) for name in fleet.config_names(index)
        ],
    ).SerializeToString()  # fmt: skip


def config_list(fleet: Fleet, index: int, steady: bool) -> bytes:
    held = dict.fromkeys(fleet.config_names(index), 0) if steady else {}
    return agent_pb2.AgentGetConfigListRequest(
        agent_id=agent_id(index), config_versions=held
    ).SerializeToString()


def http_requests(workload: str, fleet: Fleet) -> list[tuple[str, bytes]]:
    agents = range(min(LOAD_AGENTS, fleet.agents))
    if workload == "HeartBeat":
        return [(HEARTBEAT, heartbeat(i)) for i in agents]
    if workload.startswith("GetConfigList"):
        return [(CONFIG_LIST, config_list(fleet, i, workload.endswith("steady"))) for i in agents]
    if workload.startswith("v2 Heartbeat"):
        return [(V2_HEARTBEAT, v2_heartbeat(fleet, i)) for i in agents]
    if workload == "mixed":
        return [
            pair
            for i in agents
            for pair in ((HEARTBEAT, heartbeat(i)), (CONFIG_LIST, config_list(fleet, i, True)))
        ]
    if workload == "ListAgents page of 1,000":
        page = user_pb2.ListAgentsRequest(group_name="default", page_size=1000)
        return [("/User/ListAgents", page.SerializeToString())]
    if workload.startswith("GetConfigStatus"):
        status = user_pb2.GetConfigStatusRequest(config_name="c0")
        return [("/User/GetConfigStatus", status.SerializeToString())]
    return [("/User/ListAgents", user_pb2.ListAgentsRequest(group_name="big").SerializeToString())]


MIXED_AGENT_TYPE = "\n\x02c0"
"""The agent type of gRPC `mixed`'s HeartBeat: a string that is also a config_versions entry (c0 at 0)."""


def mixed_body(fleet: Fleet) -> bytes:
    """One body that is both of agent 0's requests (h2load sends one body to every method): its
    GetConfigList, then its HeartBeat. Both messages have request_id and agent_id as fields 1 and 2; the
    HeartBeat's fields 4 to 8 are unknown to a GetConfigList, which skips them; field 3 is GetConfigList's
    config_versions and HeartBeat's agent_type, whose value MIXED_AGENT_TYPE reads as either. The last value
    of a field wins, and a map merges its entries. Checked here, so that no run measures refusals."""
    beat = agent_pb2.HeartBeatRequest.FromString(heartbeat(0))
    beat.agent_type = MIXED_AGENT_TYPE
    body = config_list(fleet, 0, True) + beat.SerializeToString()
    assert agent_pb2.HeartBeatRequest.FromString(body) == beat
    expected = agent_pb2.AgentGetConfigListRequest.FromString(config_list(fleet, 0, True))
    read = agent_pb2.AgentGetConfigListRequest.FromString(body)  # with the HeartBeat's as unknown fields
    assert (read.agent_id, dict(read.config_versions)) == (expected.agent_id, dict(expected.config_versions))
    return body


def grpc_request(workload: str, fleet: Fleet) -> tuple[list[str], bytes]:
    """h2load sends one body: one agent's (for `mixed`, `mixed_body`)."""
    if workload == "mixed":
        return [GRPC[HEARTBEAT], GRPC[CONFIG_LIST]], mixed_body(fleet)
    path, body = http_requests(workload, fleet)[0]
    return [GRPC[path]], body


def best(transport: str, port: int, workload: str, fleet: Fleet, seconds: float) -> tuple[Result, int]:
    """The best of ROUNDS runs at full speed (one for operators' calls), and the requests of them all."""
    runs = [
        measure(transport, port, workload, fleet, seconds)
        for _ in range(1 if workload in LARGE_ONLY else ROUNDS)
    ]
    return max(runs, key=lambda run: run.rps), sum(run.requests for run in runs)


def measure(
    transport: str, port: int, workload: str, fleet: Fleet, seconds: float, rate: float = 0.0
) -> Result:
    """One run (tried twice: a load generator on a loaded 2-core machine now and then prints garbage)."""
    try:
        return measure_once(transport, port, workload, fleet, seconds, rate)
    except RuntimeError as error:
        print(f"  retrying after: {error}", flush=True)
        return measure_once(transport, port, workload, fleet, seconds, rate)


def measure_once(
    transport: str, port: int, workload: str, fleet: Fleet, seconds: float, rate: float
) -> Result:
    """One run; operators' calls (LARGE_ONLY) with one connection at a time; paced to `rate` if given."""
    connections = 1 if workload in LARGE_ONLY else CONNECTIONS
    if transport == "http":
        close = workload.endswith("a connection each")
        return run_wrk(port, http_requests(workload, fleet), seconds, connections, close, rate)
    paths, body = grpc_request(workload, fleet)
    return run_h2load(port, paths, body, max(seconds, 2.0), connections, rate)


def transports(workload: str) -> tuple[str, ...]:
    return ("http",) if workload in HTTP_ONLY else ("http", "grpc")


@dataclass
class Row:
    workload: str
    transport: str
    workers: int
    fleet: Fleet
    result: Result
    bare: Result | None = None
    counted: float = 0.0
    """The requests the server counted in its own /metrics, per request the load generator reported."""
    tail: Result | None = None
    ceiling: Result | None = None
    """HTTP: a bare HTTPMessageDelegate on uvloop, the ceiling of the server's own HTTP path."""

    @property
    def ratio(self) -> float:
        return self.result.rps / self.bare.rps if self.bare else 0.0


def run(seconds: float) -> tuple[list[Row], dict[str, float]]:
    rows: list[Row] = []
    worker_counts = sorted({1, os.cpu_count() or 1})
    with tempfile.TemporaryDirectory(prefix="configserver-bench-") as directory:
        urls = {}
        for fleet in (SMALL, LARGE):
            urls[fleet] = f"sqlite:///{Path(directory) / f'{fleet.agents}.db'}"
            populate(urls[fleet], fleet)
        for workers in worker_counts:
            answers: dict[str, dict[str, dict[str, str]]] = {}
            for fleet in (SMALL, LARGE):
                with server(urls[fleet], workers) as running:
                    for workload in WORKLOADS:
                        if workload in LARGE_ONLY and fleet is SMALL:
                            continue
                        answers.setdefault(workload, {"http": {}, "grpc": {}})
                        for path, body in http_requests(workload, fleet)[:2]:
                            answer = running.post(path, body).hex()
                            answers[workload]["http"][path] = answer
                            answers[workload]["grpc"][GRPC[path]] = answer
                        for transport in transports(workload):
                            port = running.http if transport == "http" else running.grpc
                            measure(transport, port, workload, fleet, 1.0)  # warm up
                            before = running.accepted().get(transport, 0)
                            result, sent = best(transport, port, workload, fleet, seconds)
                            counted = (running.accepted().get(transport, 0) - before) / max(sent, 1)
                            row = Row(workload, transport, workers, fleet, result, counted=counted)
                            if workers == 1 and fleet is SMALL and workload in TAIL_WORKLOADS:
                                row.tail = measure(
                                    transport, port, workload, fleet, seconds, TAIL_LOAD * result.rps
                                )
                            rows.append(row)
                            print(
                                f"  {workload:22} {transport:4} workers={workers} {fleet.label:30} {result.rps:9,.0f} req/s",
                                flush=True,
                            )
            for workload, by_transport in answers.items():
                for transport in transports(workload):
                    with bare(transport, by_transport[transport], workers) as port:
                        fleet = LARGE if workload in LARGE_ONLY else SMALL
                        measure(transport, port, workload, fleet, 1.0)
                        result, _ = best(transport, port, workload, fleet, seconds)
                    print(
                        f"  {workload:22} {transport:4} workers={workers} bare{'':26} {result.rps:9,.0f} req/s",
                        flush=True,
                    )
                    ceiling = None
                    if transport == "http" and workload not in LARGE_ONLY:
                        with bare("http-delegate", by_transport[transport], workers) as port:
                            measure(transport, port, workload, fleet, 1.0)
                            ceiling, _ = best(transport, port, workload, fleet, seconds)
                        print(
                            f"  {workload:22} http workers={workers} bare delegate {ceiling.rps:9,.0f} req/s",
                            flush=True,
                        )
                    for row in rows:
                        if (row.workload, row.transport, row.workers) == (workload, transport, workers):
                            row.bare, row.ceiling = result, ceiling
        memory = measure_memory(Path(directory))
        memory.update(rollout_latency(urls[LARGE]))
    return rows, memory


def rollout_latency(url: str, calls: int = 20) -> dict[str, float]:
    """GetConfigStatus of a config applied to `default`, so that it targets all 100,000 agents: one call at
    a time, the median and the largest, in ms."""
    apply = user_pb2.ApplyConfigToAgentGroupRequest(group_name="default", config_name="c0")
    status = user_pb2.GetConfigStatusRequest(config_name="c0").SerializeToString()
    with server(url, 1) as running:
        applied = user_pb2.ApplyConfigToAgentGroupResponse.FromString(
            running.post("/User/ApplyConfigToAgentGroup", apply.SerializeToString(), "PUT")
        )
        assert applied.code in ("Accept", "ConfigAlreadyExist"), applied
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            answer = user_pb2.GetConfigStatusResponse.FromString(
                running.post("/User/GetConfigStatus", status)
            )
            times.append((time.perf_counter() - start) * 1000)
        assert answer.agents_targeted == LARGE.agents, answer
    times.sort()
    return {"rollout_p50_ms": times[len(times) // 2], "rollout_max_ms": times[-1]}


def measure_memory(directory: Path) -> dict[str, float]:
    """Resident memory with 1,000 and 101,000 agents (10 configs each time, each agent reporting all 10 held
    and APPLIED): the difference per agent."""
    resident = {}
    for agents in (1_000, 101_000):
        url = f"sqlite:///{directory / f'memory-{agents}.db'}"
        populate(url, Fleet(agents, 10), reported=True)
        with server(url, 1) as running:
            time.sleep(2)
            resident[agents] = resident_kib(running.process.pid)
    return {
        "kib_1000": resident[1_000],
        "kib_101000": resident[101_000],
        "bytes_per_agent": (resident[101_000] - resident[1_000]) * 1024 / 100_000,
    }


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, Linux {platform.release()}, Python {platform.python_version()}"


def report(rows: list[Row], memory: dict[str, float], seconds: float) -> str:
    lines = [
        "| workload | transport | workers | fleet | req/s | p50 ms | p99 ms | bare req/s | server/bare"
        " | bare delegate req/s | counted by server |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        bare_rps = f"{row.bare.rps:,.0f}" if row.bare else "-"
        ceiling = f"{row.ceiling.rps:,.0f}" if row.ceiling else "-"
        check = row.counted
        lines.append(
            f"| {row.workload} | {row.transport} | {row.workers} | {row.fleet.label} | {row.result.rps:,.0f} | "
            f"{row.result.p50_ms:.2f} | {row.result.p99_ms:.2f} | {bare_rps} | {row.ratio:.2f} | {ceiling} | {check:.2f} |"
        )
    lines += [
        "",
        f"Resident memory: {memory['kib_1000'] / 1024:.1f} MiB with 1,000 agents, {memory['kib_101000'] / 1024:.1f} MiB"
        f" with 101,000: **{memory['bytes_per_agent']:,.0f} bytes per registered agent**.",
        "",
        f"GetConfigStatus of a config applied to `default` (targeting all 100,000 agents), one call at a time:"
        f" median {memory['rollout_p50_ms']:.0f} ms, largest {memory['rollout_max_ms']:.0f} ms of 20 calls.",
        "",
        f"Each figure: the better of {ROUNDS} runs of {seconds:g} s (operators' calls: one) after a 1 s warm-up,"
        " 16 connections (gRPC: 4 streams each), one load-generator thread, on the same machine as the server.",
    ]
    return "\n".join(lines)


def _rps(rows: list[Row], workload: str, transport: str, workers: int, fleet: Fleet) -> float:
    found = [
        r.result.rps
        for r in rows
        if (r.workload, r.transport, r.workers, r.fleet) == (workload, transport, workers, fleet)
    ]
    return found[0] if found else 0.0


def _bare_rps(rows: list[Row], workload: str, transport: str, workers: int) -> float:
    found = [
        r.bare.rps
        for r in rows
        if (r.workload, r.transport, r.workers) == (workload, transport, workers) and r.bare
    ]
    return found[0] if found else 0.0


def _row(rows: list[Row], workload: str, transport: str, workers: int, fleet: Fleet) -> Row | None:
    return next(
        (
            r
            for r in rows
            if (r.workload, r.transport, r.workers, r.fleet) == (workload, transport, workers, fleet)
        ),
        None,
    )


def tails(rows: list[Row]) -> str:
    """The paced runs: latency at TAIL_LOAD of the maximum, and the agents one core serves at that load."""
    lines = [
        f"| workload | transport | paced at | p50 ms | p99 ms | agents served per core, {HEARTBEAT_INTERVAL} s heartbeat |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.tail is None:
            continue
        per_agent = 2 if row.workload == "mixed" else 1  # alpha agents send a HeartBeat and a GetConfigList
        agents = (
            f"{row.tail.rps / per_agent * HEARTBEAT_INTERVAL:,.0f}"
            if row.workload in ("mixed", "v2 Heartbeat, a connection each") and row.tail.p99_ms < 100
            else "-"
        )
        lines.append(
            f"| {row.workload} | {row.transport} | {row.tail.rps:,.0f}/s ({row.tail.rps / row.result.rps:.0%}) | "
            f"{row.tail.p50_ms:.2f} | {row.tail.p99_ms:.2f} | {agents} |"
        )
    return "\n".join(lines)


def targets(rows: list[Row], memory: dict[str, float], loud: list[Beside]) -> str:
    """The speed targets, each as measured in this run."""
    cores = max(row.workers for row in rows)
    lines = ["| target | measured | met |", "|---|---|---|"]

    def add(target: str, value: float, goal: float, shown: str, at_most: bool = False) -> None:
        met = value <= goal if at_most else value >= goal
        lines.append(f"| {target} | {shown} | {'yes' if met else 'no'} |")

    for workload, transport, goal in (
        ("HeartBeat", "http", 1.5), ("mixed", "http", 1.5), ("GetConfigList steady", "http", 1.2),
        ("GetConfigList cold", "http", 1.2), ("HeartBeat", "grpc", 0.9), ("GetConfigList steady", "grpc", 0.9),
        ("GetConfigList cold", "grpc", 0.9),
    ):  # fmt: skip
        ratios = [
            r.ratio
            for r in rows
            if (r.workload, r.transport, r.workers) == (workload, transport, 1) and r.bare
        ]
        worst = min(ratios)
        add(
            f"one process, {workload} over {transport}: >= {goal} x bare",
            worst,
            goal,
            f"{worst:.2f} x (worst fleet)",
        )
    for transport in ("http", "grpc"):
        mixed_all, bare_one = (
            _rps(rows, "mixed", transport, cores, SMALL),
            _bare_rps(rows, "mixed", transport, 1),
        )
        level = mixed_all / bare_one if bare_one else 0
        add(
            f"{cores} workers, mixed over {transport}: >= 2.5 x one bare process (the Go server)",
            level,
            2.5,
            f"{level:.2f} x",
        )
    for row in rows:
        if row.tail is not None and row.workload != "v2 Heartbeat, a connection each":
            add(
                f"p99 at {TAIL_LOAD:.0%} of the maximum, {row.workload} over {row.transport}: <= 10 ms",
                row.tail.p99_ms, 10.0, f"{row.tail.p99_ms:.2f} ms", at_most=True,
            )  # fmt: skip
    for workload in ("mixed", "v2 Heartbeat, a connection each"):
        paced = _row(rows, workload, "http", 1, SMALL)
        if paced is not None and paced.tail is not None:
            add(f"agents per core, {workload}: p99 < 100 ms at that load", paced.tail.p99_ms, 100.0,
                f"p99 {paced.tail.p99_ms:.2f} ms", at_most=True)  # fmt: skip
    for workload in ("HeartBeat", "GetConfigList steady", "mixed", "v2 Heartbeat steady"):
        for transport in transports(workload):
            small, large = (
                _rps(rows, workload, transport, 1, SMALL),
                _rps(rows, workload, transport, 1, LARGE),
            )
            growth = large / small if small else 0
            add(f"{workload} over {transport}: 100,000 agents / 1,000 configs >= 0.9 of 1,000 / 10", growth, 0.9,
                f"{growth:.2f}")  # fmt: skip
    if loud:
        p99s = sorted(run.grpc_p99_ms for run in loud)
        median = p99s[len(p99s) // 2]
        add("operators' gRPC calls beside loud agents: p99 < 100 ms (median of the runs)", median, 100.0,
            f"p99 {median:.1f} ms (runs: {', '.join(f'{p99:.0f}' for p99 in p99s)})", at_most=True)  # fmt: skip
    per_agent = memory["bytes_per_agent"]
    add(
        "memory <= 1.5 KiB per agent (10 configs held and APPLIED)",
        per_agent,
        1536,
        f"{per_agent:,.0f} bytes",
        at_most=True,
    )
    return "\n".join(lines)


def besides(loud: list[Beside]) -> str:
    """`bench.beside`'s runs: gRPC User API calls at 200/s while wrk saturates HTTP with heartbeats."""
    lines = [
        "One process, fleet 1,000 agents, 10 configs; wrk keeps 64 HTTP connections busy with HeartBeat while"
        " another process sends 200 ListAgentGroups calls a second over gRPC for 10 s. Each run:",
        "",
        *(f"- {run.line()}" for run in loud),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows, memory = run(args.seconds)
    loud = beside()
    table = (
        report(rows, memory, args.seconds)
        + f"\n\n## Tail latency and agents per core\n\nOne process, fleet {SMALL.label}, each workload paced to"
        f" {TAIL_LOAD:.0%} of its maximum above.\n\n"
        + tails(rows)
        + "\n\n## Operators' gRPC calls beside loud agents\n\n"
        + besides(loud)
        + "\n\n## Against the targets\n\n"
        + targets(rows, memory, loud)
    )
    print(table)
    Path(args.out).write_text(
        f"# Benchmarks\n\nGenerated by `make bench` on {started}, on {machine()}.\n\n"
        + (Path(__file__).parent / "method.md").read_text()
        + "\n## Results\n\n"
        + table
        + "\n"
    )


if __name__ == "__main__":
    main()
