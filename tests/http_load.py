"""A small HTTP load generator for tests: keep-alive connections sending requests in a loop.

    python -m tests.http_load PORT SECONDS CONNECTIONS [DEPTH]

Each connection sends DEPTH requests at once (HTTP/1.1 pipelining; 1 by default), then reads their
answers: a deep pipeline keeps the server busy without pause at a small cost to the generator. Prints the
number of answers it got. Bounded in time; loopback only.
"""

import asyncio
import sys

from configserver.proto import agent_pb2


def heartbeat_request(port: int) -> bytes:
    body = agent_pb2.HeartBeatRequest(agent_id="load", agent_type="load").SerializeToString()
    head = (
        f"POST /Agent/HeartBeat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/x-protobuf\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connection(port: int, requests: bytes, depth: int, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    answers = 0
    try:
        while loop.time() < deadline:
            writer.write(requests)
            for _ in range(depth):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                answers += 1
    finally:
        writer.close()
    return answers


async def main(port: int, seconds: float, connections: int, depth: int = 1) -> int:
    deadline = asyncio.get_running_loop().time() + seconds
    requests = heartbeat_request(port) * depth
    counts = await asyncio.gather(*(connection(port, requests, depth, deadline) for _ in range(connections)))
    return sum(counts)


if __name__ == "__main__":
    port, seconds, connections = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    depth = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    print(asyncio.run(main(port, seconds, connections, depth)))
