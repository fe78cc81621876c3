"""/metrics: requests by transport, RPC and code, shed requests, store latency and agents; summed over
workers."""

import signal

from prometheus_client.parser import text_string_to_metric_families

from pipeline.metrics import PrometheusObserver
from tests.stores import Backend
from tests.support import GrpcClient, HttpClient, ServerProcess, ServerThread, make
from tests.test_scale_out import eventually


def samples(http: HttpClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = http.request("GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
    }


def requests(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], transport: str, rpc: str, code: str
) -> float:
    return found.get(
        ("configserver_requests_total", (("code", code), ("rpc", rpc), ("transport", transport))), 0
    )


def test_requests_are_counted_by_transport_rpc_and_code(
    server: ServerThread, http: HttpClient, grpc_client: GrpcClient
) -> None:
    before = samples(http)  # metrics are per process, and this one has served other tests' servers
    for _ in range(3):
        http.call("HeartBeat", make("HeartBeat", agent_id="a"))
    http.call("GetConfig", make("GetConfig", config_name="nope"))
    for _ in range(2):
        grpc_client.call("GetConfigList", make("GetConfigList", agent_id="a"))
    grpc_client.call("GetConfigList", make("GetConfigList", agent_id="ghost"))
    after = samples(http)

    def grew(transport: str, rpc: str, code: str) -> float:
        return requests(after, transport, rpc, code) - requests(before, transport, rpc, code)

    assert grew("http", "HeartBeat", "Accept") == 3
    assert grew("http", "GetConfig", "ConfigNotExist") == 1
    assert grew("grpc", "GetConfigList", "Accept") == 2
    assert grew("grpc", "GetConfigList", "AgentNotExist") == 1
    latency = ("configserver_request_seconds_count", (("rpc", "HeartBeat"), ("transport", "http")))
    assert after[latency] - before.get(latency, 0) == 3
    assert after[("configserver_store_seconds_count", (("operation", "request"),))] >= 1
    known = eventually(lambda: samples(http).get(("configserver_agents_known", ())), lambda value: value == 1)
    assert known == 1
    assert samples(http)[("configserver_agents_seen_last_minute", ())] == 1


def test_workers_report_their_sum(store: Backend) -> None:
    with ServerProcess(store.url, "--workers", "2").start() as server:
        http = HttpClient(server.http_port)
        for index in range(20):  # new connections: spread over the workers
            http.call("HeartBeat", make("HeartBeat", agent_id=f"a{index % 3}"))
        for _ in range(5):  # whichever worker answers, it reports both
            assert requests(samples(http), "http", "HeartBeat", "Accept") == 20
        assert server.stop(signal.SIGTERM)[0] == 0


def test_what_buffers_drop_is_exposed_by_kind(server: ServerThread) -> None:
    http = HttpClient(server.http_port)
    key = ("configserver_dropped_total", (("what", "alarm"),))
    before = samples(http).get(key, 0)
    PrometheusObserver().dropped("alarm", 3)
    assert samples(http)[key] == before + 3
