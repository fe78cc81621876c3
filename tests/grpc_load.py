"""A small gRPC load generator for tests: concurrent GetConfigList calls in a loop on one channel.

    python -m tests.grpc_load PORT SECONDS CONCURRENCY

Prints the number of answers it got. Bounded in time; loopback only.
"""

import asyncio
import sys

import grpc

from configserver.proto import agent_pb2, service_pb2_grpc


async def main(port: int, seconds: float, concurrency: int) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = service_pb2_grpc.AgentServiceStub(channel)
        request = agent_pb2.AgentGetConfigListRequest(agent_id="probe")
        deadline = asyncio.get_running_loop().time() + seconds

        async def worker() -> int:
            answers = 0
            while asyncio.get_running_loop().time() < deadline:
                await stub.GetConfigList(request, timeout=10)
                answers += 1
            return answers

        return sum(await asyncio.gather(*(worker() for _ in range(concurrency))))


if __name__ == "__main__":
    print(asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))))
