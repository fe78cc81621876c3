"""The load generators, each in a process of its own: wrk (HTTP/1.1, keep-alive, a Lua script that cycles
through protobuf bodies) and h2load (gRPC over HTTP/2: one framed body, one or more methods in turn).

Both run for a fixed time with a fixed number of connections (the caller warms up with a short run first),
and report requests per second with the median and 99th percentile latency. Given a `rate`, they pace
themselves to about that many requests per second instead of as many as the server answers: h2load with
`--rps`, wrk with its script's `delay` between a connection's answer and its next request.
"""

import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 16
PAUSE_MS = 10
"""A paced wrk connection's wait after each answer."""
STREAMS_PER_CONNECTION = 4


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


def require(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise SystemExit(f"{tool} is missing: apt-get install {package} (make bench installs it)")
    return found


def _lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{byte}" for byte in data) + '"'


def wrk_script(requests: list[tuple[str, bytes]], close: bool = False, pause_ms: int = 0) -> str:
    """A wrk script sending `requests` (path, protobuf body) in turn, per connection thread; with `close`,
    each on a new TCP connection (`Connection: close`); with `pause_ms`, waiting that long after each
    answer."""
    paths = ", ".join(f'"{path}"' for path, _ in requests)
    bodies = ",\n".join(_lua_string(body) for _, body in requests)
    return f"""
local paths = {{{paths}}}
local bodies = {{
{bodies}
}}
local headers = {{["Content-Type"] = "application/x-protobuf"{', ["Connection"] = "close"' if close else ""}}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", paths[i], headers, bodies[i])
end
{f"delay = function() return {pause_ms} end" if pause_ms > 0 else ""}
"""


def _milliseconds(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise RuntimeError(f"unreadable latency from wrk: {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def run_wrk(
    port: int,
    requests: list[tuple[str, bytes]],
    seconds: float,
    connections: int = CONNECTIONS,
    close: bool = False,
    rate: float = 0.0,
) -> Result:
    """As fast as the server answers, or paced to about `rate` requests per second: each connection
    waits PAUSE_MS after an answer (wrk's delay counts whole milliseconds), and there are as many
    connections as make `rate`, counting the latency a first paced run shows."""
    if rate <= 0:
        return _run_wrk(port, requests, seconds, connections, close, 0)
    paced = max(1, round(rate * PAUSE_MS / 1000))
    first = _run_wrk(port, requests, min(seconds, 2.0), paced, close, PAUSE_MS)
    latency_ms = max(0.0, paced * 1000 / first.rps - PAUSE_MS)
    paced = max(1, round(rate * (PAUSE_MS + latency_ms) / 1000))
    return _run_wrk(port, requests, seconds, paced, close, PAUSE_MS)


def _run_wrk(
    port: int,
    requests: list[tuple[str, bytes]],
    seconds: float,
    connections: int,
    close: bool,
    pause_ms: int,
) -> Result:
    wrk = require("wrk", "wrk")
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "requests.lua"
        script.write_text(wrk_script(requests, close, pause_ms))
        base = [
            wrk,
            "-t1",
            f"-c{connections}",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ]
        output = subprocess.run(
            [*base, f"-d{max(1, round(seconds))}s", "--latency"], check=True, capture_output=True, text=True
        ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw failed answers:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    # The distribution's own lines ("     99%    4.69ms"), not a "+/- Stdev" column ending in 99%.
    p50 = _milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return Result(rps, p50, p99, total)


def grpc_frame(message: bytes) -> bytes:
    return b"\0" + len(message).to_bytes(4, "big") + message


def run_h2load(
    port: int,
    paths: list[str],
    body: bytes,
    seconds: float,
    connections: int = CONNECTIONS,
    rate: float = 0.0,
) -> Result:
    h2load = require("h2load", "nghttp2-client")
    with tempfile.TemporaryDirectory() as directory:
        data, log = Path(directory) / "body", Path(directory) / "log"
        data.write_bytes(grpc_frame(body))
        command = [
            h2load, "-t1", f"-c{connections}", f"-m{STREAMS_PER_CONNECTION if connections > 1 else 1}", f"-D{max(1, round(seconds))}",
            "-d", str(data), "-H", "content-type: application/grpc", "-H", "te: trailers", f"--log-file={log}",
            *([f"--rps={rate / connections:.1f}"] if rate > 0 else []),
            *(f"http://127.0.0.1:{port}{path}" for path in paths),
        ]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        durations = sorted(int(line.split()[2]) for line in log.read_text().splitlines() if line.strip())
    succeeded = int(re.search(r"(\d+) succeeded", output).group(1))  # type: ignore[union-attr]
    if not durations or succeeded < len(durations) * 0.99:
        raise RuntimeError(f"h2load saw failed answers:\n{output}")
    rps = float(re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", output).group(1))  # type: ignore[union-attr]
    p50 = statistics.median(durations) / 1000
    p99 = durations[int(len(durations) * 0.99)] / 1000
    return Result(rps, p50, p99, succeeded)
