"""How long a config update made on one server takes to be served by another.

    python -m bench.coherence STORE_URL [UPDATES]

Starts two servers on the store, registers an agent, then updates one config UPDATES times (default 100)
through the first server and, after each, polls the second with GetConfigList until it serves the new
version. Prints the median, 99th percentile and largest delay. The figures in docs/deployment.md.
"""

import sys
import time

from bench.servers import server
from configserver.proto import agent_pb2, user_pb2


def main() -> None:
    url, updates = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
    with server(url, 1) as first, server(url, 1) as second:
        first.post("/Agent/HeartBeat", agent_pb2.HeartBeatRequest(agent_id="probe").SerializeToString())
        config = user_pb2.Config(config_name="probe", content="0")
        first.post(
            "/User/CreateConfig", user_pb2.CreateConfigRequest(config_detail=config).SerializeToString()
        )
        apply = user_pb2.ApplyConfigToAgentGroupRequest(group_name="default", config_name="probe")
        first.post("/User/ApplyConfigToAgentGroup", apply.SerializeToString(), "PUT")
        delays = []
        for version in range(1, updates + 1):
            config.content = str(version)
            update = user_pb2.UpdateConfigRequest(config_detail=config).SerializeToString()
            first.post("/User/UpdateConfig", update, "PUT")
            started = time.perf_counter()
            ask = agent_pb2.AgentGetConfigListRequest(
                agent_id="probe", config_versions={"probe": version - 1}
            )
            while True:
                answer = agent_pb2.AgentGetConfigListResponse.FromString(
                    second.post("/Agent/GetConfigList", ask.SerializeToString())
                )
                if answer.config_update_infos[0].config_version == version:
                    break
            delays.append((time.perf_counter() - started) * 1000)
    delays.sort()
    print(
        f"{url.split(':')[0]}: p50 {delays[len(delays) // 2]:.1f} ms, "
        f"p99 {delays[int(len(delays) * 0.99) - 1]:.1f} ms, max {delays[-1]:.1f} ms ({updates} updates)"
    )


if __name__ == "__main__":
    main()
