"""Simulators of the released agents that speak the v1 and v2 protocols, after section 5 of
`/work/shared/agent-protocols.md`: LoongCollector's v2 client (`LoongCollectorV2`), its legacy v1 client
(`LoongCollectorLegacyV1`), iLogtail 1.5-1.8 (`ILogtail18`) and iLogtail 2.0.x (`ILogtail20`).

On the wire each sends what the released agent sends: libcurl's request (request line, `Host`, `Accept: */*`,
`Content-Type:application/x-protobuf` verbatim, `Content-Length`), one TCP connection per request, the same
bytes again on a transport failure where the agent retries (3 attempts: LoongCollector; 1: iLogtail), the
agent's request ids (upper-case time UUIDs for v2; base64 forms for v1) and instance id
(`<UUID>_<ip>_<start>`), tags as the agent sends them (sorted `{name, value}` for v2; values in key order
for v1), every held config in every heartbeat, in shuffled order (the agents' order is arbitrary). Time
comes from an injectable clock: nothing sleeps.

Each applies what it is sent as its agent does, into the files its agent would write, in a directory of
its own, so that a test asserts what the agent would run:

- v2: `continuous_pipeline_config/common_v2/<name>.json` and `instance_config/common_v2/<name>.json`, the
  detail with `"version"` added; -1 deletes; a detail that is not a JSON object is FAILED. A config is
  APPLYING on receipt, and `scan` (the agent's config scan) makes it what `outcomes` says (APPLIED by
  default, FAILED, or APPLYING for good; `"enable": false` stops a running config, reported -1, and keeps a
  new one APPLYING). Fetch round (both paths, even empty) when the answer sets 0x2.
- v1: `<name>@<version>.yaml` (1.x, which reads its versions back from the file names) or `<name>.yaml`
  (2.0, legacy: versions in memory); an answer whose `request_id` is not the request's is dropped (and
  counted); a fetch follows every heartbeat with a check result; a missing detail is still applied (empty
  file; 1.x: the previous match).

`restart` starts the agent again with a new instance id, keeping what the agent keeps (files; v2 reads its
versions back from them and reports them APPLYING; 1.x from file names; 2.0 and legacy report nothing).
Not reproduced: address rotation (one server), `Expect: 100-continue` (no body reaches 1 MiB), timing.
"""

import base64
import http.client
import json
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from google.protobuf.message import DecodeError, Message

from configserver.proto.v1 import agent_v1_pb2 as v1
from configserver.proto.v2 import agent_v2_pb2 as v2

TIMEOUT = 15.0
"""Seconds per attempt, as the agents' curl handles."""
UUID_EPOCH = 0x01B21DD213814000
"""100 ns ticks from 1582-10-15 (the time UUID epoch) to 1970-01-01."""

M = TypeVar("M", bound=Message)


class Clock(Protocol):
    def now(self) -> float: ...


@dataclass(frozen=True)
class Exchange:
    """One request as it went on the wire, and the answer."""

    path: str
    request: bytes
    status: int
    content_type: str
    body: bytes


@dataclass
class Identity:
    """A running agent process: its start time and instance id (LoongCollector's two clients share one)."""

    start: int = 0
    instance_id: str = ""


def _parse(kind: type[M], body: bytes) -> M | None:
    message = kind()
    try:
        message.ParseFromString(body)
    except DecodeError:
        return None
    return message


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _write(path: Path, text: str) -> None:
    """As the agents write: `<file>.new`, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".new")
    staged.write_text(text, encoding="utf-8")
    staged.replace(path)


class Agent:
    """What every simulated agent has: an address, a directory, a clock, tags, an identity, the record of
    every exchange."""

    agent_type: ClassVar[str]
    attempts: ClassVar[int]
    default_version: ClassVar[str]

    def __init__(
        self,
        port: int,
        directory: Path,
        clock: Clock,
        ip: str,
        tags: dict[str, str] | None = None,
        version: str = "",
        hostname: str = "",
        identity: Identity | None = None,
    ) -> None:
        self.port = port
        self.directory = directory
        self.clock = clock
        self.ip = ip
        self.hostname = hostname or f"host-{ip.replace('.', '-')}"
        self.tags = dict(tags or {})
        self.version = version or self.default_version
        self.exchanges: list[Exchange] = []
        self.transport_failures = 0
        self.before_fetch: Callable[[], None] | None = None
        """Called between a heartbeat answer and the fetch it leads to: for races."""
        self.random = random.Random(f"{type(self).__name__}/{ip}/{directory}")
        self._node = self.random.getrandbits(48) | (1 << 40)  # a random node id has the multicast bit
        self._clock_seq = self.random.getrandbits(14)
        self._ticks = 0
        self.identity = identity or Identity()
        if identity is None:
            self._renew()

    @property
    def instance_id(self) -> str:
        return self.identity.instance_id

    def time_uuid(self) -> str:
        """A version-1 UUID from the clock, upper-case, 36 characters; successive ones differ."""
        ticks = max(int(self.clock.now() * 10_000_000) + UUID_EPOCH, self._ticks + 1)
        self._ticks = ticks
        fields = (
            ticks & 0xFFFFFFFF,
            (ticks >> 32) & 0xFFFF,
            ((ticks >> 48) & 0x0FFF) | 0x1000,
            0x80 | (self._clock_seq >> 8),
            self._clock_seq & 0xFF,
            self._node,
        )
        return str(uuid.UUID(fields=fields)).upper()

    def _renew(self) -> None:
        self.identity.start = int(self.clock.now())
        self.identity.instance_id = f"{self.time_uuid()}_{self.ip}_{self.identity.start}"

    def restart(self, renew: bool = True) -> None:
        """Start again: a new instance id (`renew=False`: the other client of the same process renewed it),
        and what survives in the agent's files."""
        if renew:
            self._renew()
        self._reload()

    def _reload(self) -> None:
        raise NotImplementedError

    def post(self, path: str, message: Message) -> Exchange | None:
        """POST as libcurl does, on a new connection; the same bytes again on a transport failure, up to
        `attempts` in all; None when every attempt failed."""
        body = message.SerializeToString()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: */*\r\n"
            f"Content-Type:application/x-protobuf\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        raw = head.encode() + body
        for _ in range(self.attempts):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as connection:
                    connection.sendall(raw)
                    response = http.client.HTTPResponse(connection, method="POST")
                    try:
                        response.begin()
                        answer = response.read()
                    finally:
                        response.close()
            except (OSError, http.client.HTTPException):
                continue
            exchange = Exchange(path, raw, response.status, response.getheader("Content-Type", ""), answer)
            self.exchanges.append(exchange)
            return exchange
        self.transport_failures += 1
        return None

    def shuffled(self, names: dict[str, Any]) -> list[str]:
        order = list(names)
        self.random.shuffle(order)
        return order


class Kind(StrEnum):
    """A v2 config kind, as the directory the agent keeps it in."""

    PIPELINE = "continuous_pipeline_config"
    INSTANCE = "instance_config"


@dataclass
class Held:
    """A config a v2 agent holds: version (-1: removed locally) and status."""

    version: int
    status: v2.ConfigStatus.ValueType = v2.APPLYING


@dataclass
class Round:
    """What one v2 heartbeat brought: the answer (None: transport failure or undecodable), and the config
    details applied, by kind (from the answer, or from the fetches when it set 0x2)."""

    response: v2.HeartbeatResponse | None
    applied: dict[Kind, list[v2.ConfigDetail]] = field(default_factory=dict)

    @property
    def fetched(self) -> bool:
        return self.response is not None and bool(
            self.response.flags & v2.FetchContinuousPipelineConfigDetail
        )

    @property
    def updates(self) -> int:
        return sum(len(details) for details in self.applied.values())


class LoongCollectorV2(Agent):
    """LoongCollector's `CommonConfigProvider` (0.2.0 to 3.3.5)."""

    agent_type = "LoongCollector"
    attempts = 3
    default_version = "3.3.5"
    os_detail = "Linux; 5.10.134-16.al8.x86_64; #1 SMP Thu Sep 7 15:19:53 CST 2023; x86_64"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sequence = 0
        self.held: dict[Kind, dict[str, Held]] = {Kind.PIPELINE: {}, Kind.INSTANCE: {}}
        self.outcomes: dict[str, v2.ConfigStatus.ValueType] = {}
        """Per config name: what its pipeline build ends in (APPLIED when absent, FAILED, APPLYING)."""
        self._reload()

    def path(self, kind: Kind, name: str) -> Path:
        return self.directory / kind.value / "common_v2" / f"{name}.json"

    def config(self, kind: Kind, name: str) -> dict[str, Any] | None:
        """The config as the agent runs it (its file), or None."""
        path = self.path(kind, name)
        if not path.exists():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def names(self, kind: Kind) -> set[str]:
        """The config files the agent has."""
        return {path.stem for path in (self.directory / kind.value / "common_v2").glob("*.json")}

    def _reload(self) -> None:
        """At start: versions from the files, each reported APPLYING until the scan."""
        self.sequence = 0
        self.running: dict[Kind, set[str]] = {kind: set() for kind in Kind}
        """The configs whose pipeline (or instance setting) runs."""
        for kind in Kind:
            self.held[kind] = {}
            for name in self.names(kind):
                loaded = self.config(kind, name)
                if loaded is not None:
                    self.held[kind][name] = Held(int(loaded["version"]), v2.APPLYING)

    def _infos(self, kind: Kind) -> list[v2.ConfigInfo]:
        held = self.held[kind]
        return [
            v2.ConfigInfo(name=name, version=-1)
            if held[name].version == -1
            else v2.ConfigInfo(name=name, version=held[name].version, status=held[name].status)
            for name in self.shuffled(held)
        ]

    def heartbeat_request(self) -> v2.HeartbeatRequest:
        return v2.HeartbeatRequest(
            request_id=self.time_uuid().encode(),
            sequence_num=self.sequence,
            capabilities=v2.AcceptsContinuousPipelineConfig | v2.AcceptsInstanceConfig,
            instance_id=self.instance_id.encode(),
            agent_type=self.agent_type,
            attributes=v2.AgentAttributes(
                version=self.version.encode(),
                ip=self.ip.encode(),
                hostname=self.hostname.encode(),
                extras={"osDetail": self.os_detail.encode()},
            ),
            tags=[v2.AgentGroupTag(name=name, value=value) for name, value in sorted(self.tags.items())],
            running_status="running",
            startup_time=self.identity.start,
            continuous_pipeline_configs=self._infos(Kind.PIPELINE),
            instance_configs=self._infos(Kind.INSTANCE),
        )

    def heartbeat(self) -> Round:
        """One heartbeat, and the fetch round when the answer sets 0x2; applies what it got."""
        exchange = self.post("/Agent/Heartbeat", self.heartbeat_request())
        if exchange is None:
            return Round(None)
        self.sequence += 1
        response = _parse(v2.HeartbeatResponse, exchange.body)
        if response is None:
            return Round(None)
        found = Round(response)
        if response.flags & v2.FetchContinuousPipelineConfigDetail:
            if self.before_fetch is not None:
                self.before_fetch()
            found.applied[Kind.PIPELINE] = self._fetch(
                Kind.PIPELINE, response.continuous_pipeline_config_updates
            )
            found.applied[Kind.INSTANCE] = self._fetch(Kind.INSTANCE, response.instance_config_updates)
        else:
            found.applied[Kind.PIPELINE] = list(response.continuous_pipeline_config_updates)
            found.applied[Kind.INSTANCE] = list(response.instance_config_updates)
        for kind, details in found.applied.items():
            self._apply(kind, details)
        return found

    def _fetch(self, kind: Kind, targets: Any) -> list[v2.ConfigDetail]:
        infos = [v2.ConfigInfo(name=target.name, version=target.version) for target in targets]
        request = v2.FetchConfigRequest(
            request_id=self.time_uuid().encode(), instance_id=self.instance_id.encode()
        )
        if kind is Kind.PIPELINE:
            request.continuous_pipeline_configs.extend(infos)
            exchange = self.post("/Agent/FetchPipelineConfig", request)
        else:
            request.instance_configs.extend(infos)
            exchange = self.post("/Agent/FetchInstanceConfig", request)
        response = None if exchange is None else _parse(v2.FetchConfigResponse, exchange.body)
        if response is None:
            return []
        updates = (
            response.continuous_pipeline_config_updates
            if kind is Kind.PIPELINE
            else response.instance_config_updates
        )
        return list(updates)

    def _apply(self, kind: Kind, details: list[v2.ConfigDetail]) -> None:
        held = self.held[kind]
        for detail in details:
            path = self.path(kind, detail.name)
            if detail.version == -1:
                path.unlink(missing_ok=True)
                held.pop(detail.name, None)
                self.running[kind].discard(detail.name)
                continue
            try:
                loaded = json.loads(detail.detail)
            except ValueError:
                loaded = None
            if not isinstance(loaded, dict):
                held[detail.name] = Held(detail.version, v2.FAILED)
                continue
            loaded["version"] = detail.version
            _write(path, json.dumps(loaded, indent=4, ensure_ascii=False))
            held[detail.name] = Held(detail.version, v2.APPLYING)

    def scan(self) -> None:
        """The config scan: configs received since the last one end as `outcomes` says; one with
        `"enable": false` stops its running pipeline (then reported -1) or, not running, stays APPLYING."""
        for kind in Kind:
            running = self.running[kind]
            for name, entry in self.held[kind].items():
                if entry.version == -1 or entry.status != v2.APPLYING:
                    continue
                loaded = self.config(kind, name)
                if loaded is not None and loaded.get("enable") is False:
                    if name in running:
                        running.discard(name)
                        self.held[kind][name] = Held(-1, v2.UNSET)
                    continue
                entry.status = self.outcomes.get(name, v2.APPLIED)
                if entry.status == v2.APPLIED:
                    running.add(name)  # a FAILED update leaves the old pipeline running

    def cycle(self) -> Round:
        """A period: the scan, then the heartbeat."""
        self.scan()
        return self.heartbeat()

    def remove_locally(self, kind: Kind, name: str) -> None:
        """The config file is deleted or its pipeline disabled on the host: reported as -1."""
        self.path(kind, name).unlink(missing_ok=True)
        self.held[kind][name] = Held(-1, v2.UNSET)
        self.running[kind].discard(name)


class V1Agent(Agent):
    """What the v1 clients share: heartbeat, check results, fetch; files as each writes them."""

    agent_type = "iLogtail"
    subdirectory: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dropped = 0
        """Answers dropped because their `request_id` was not the request's (or did not decode)."""
        self.versions: dict[str, int] = {}

    @property
    def folder(self) -> Path:
        return self.directory / self.subdirectory

    def files(self) -> dict[str, str]:
        """The agent's config files, by file name."""
        return {path.name: path.read_text(encoding="utf-8") for path in sorted(self.folder.glob("*.yaml"))}

    def held(self) -> dict[str, int]:
        return dict(self.versions)

    def _reload(self) -> None:
        self.versions = {}

    def _post_v1(self, path: str, request: Message) -> bytes | None:
        """The answer's body, or None when no answer came (transport failure)."""
        exchange = self.post(path, request)
        return None if exchange is None else exchange.body

    def _kept(
        self, answer: v1.HeartBeatResponse | v1.FetchPipelineConfigResponse | None, request_id: str
    ) -> bool:
        """Whether the client keeps an answer that came: only one with the request's `request_id`."""
        kept = answer is not None and answer.request_id == request_id
        self.dropped += not kept
        return kept

    def cycle(self) -> list[v1.ConfigCheckResult]:
        """A period: the heartbeat, then (after any check result) the fetch, and what they bring applied.
        Returns the check results the client kept."""
        held = self.held()
        request = v1.HeartBeatRequest(
            request_id=_b64(f"heartbeat{int(self.clock.now())}"),
            agent_id=self.instance_id,
            agent_type=self.agent_type,
            attributes=v1.AgentAttributes(version=self.version, ip=self.ip),
            tags=[value for _, value in sorted(self.tags.items())],
            interval=10,
            pipeline_configs=[v1.ConfigInfo(name=name, version=held[name]) for name in self.shuffled(held)],
        )
        body = self._post_v1("/Agent/HeartBeat", request)
        if body is None:
            return []
        response = _parse(v1.HeartBeatResponse, body)
        if not self._kept(response, request.request_id) or response is None:
            return []
        results = list(response.pipeline_check_results)
        if not results:
            return []
        fetch = v1.FetchPipelineConfigRequest(
            request_id=_b64(f"{self.instance_id}_{int(self.clock.now())}"),
            agent_id=self.instance_id,
            req_configs=[
                v1.ConfigInfo(name=result.name, version=result.new_version, context=result.context)
                for result in results
                if result.check_status != v1.DELETED
            ],
        )
        if self.before_fetch is not None:
            self.before_fetch()
        details: list[v1.ConfigDetail] = []
        body = self._post_v1("/Agent/FetchPipelineConfig", fetch)
        if body is not None:
            answer = _parse(v1.FetchPipelineConfigResponse, body)
            if self._kept(answer, fetch.request_id) and answer is not None:
                details = list(answer.config_details)
        self._apply(results, details)
        return results

    def _apply(self, results: list[v1.ConfigCheckResult], details: list[v1.ConfigDetail]) -> None:
        """2.0 and legacy: `<name>.yaml`; a missing detail writes an empty file."""
        for result in results:
            path = self.folder / f"{result.name}.yaml"
            if result.check_status == v1.DELETED:
                self.versions.pop(result.name, None)
                path.unlink(missing_ok=True)
            elif result.check_status in (v1.NEW, v1.MODIFIED):
                match = next((detail.detail for detail in details if detail.name == result.name), "")
                _write(path, match)
                self.versions[result.name] = result.new_version


class LoongCollectorLegacyV1(V1Agent):
    """LoongCollector's `LegacyCommonConfigProvider`: the v1 protocol, v2's HTTP code (3 attempts); pass
    the v2 client's `identity` for the two clients of one process."""

    attempts = 3
    default_version = "3.3.5"
    subdirectory = "common"


class ILogtail20(V1Agent):
    """iLogtail 2.0.0 to 2.0.7 (`CommonConfigProvider`)."""

    attempts = 1
    default_version = "2.0.7"
    subdirectory = "config/common"


class ILogtail18(V1Agent):
    """iLogtail 1.5 to 1.8 (`ConfigManager`): files `<name>@<version>.yaml`, versions read back from them."""

    attempts = 1
    default_version = "1.8.8"
    subdirectory = "remote_yaml_config.d"

    def held(self) -> dict[str, int]:
        """Versions from the file names, highest per name; a name with another `@` is ignored; `stoi`
        throws on a version of 2^31 or more."""
        found: dict[str, int] = {}
        for path in self.folder.glob("*.yaml"):
            parts = path.name[: -len(".yaml")].split("@")
            if len(parts) != 2:
                continue
            version = int(parts[1])
            if version >= 2**31:
                raise OverflowError(f"stoi: {parts[1]} is out of range (iLogtail 1.x stops here)")
            found[parts[0]] = max(version, found.get(parts[0], version))
        return found

    def _reload(self) -> None:
        """Nothing in memory: the files are the versions."""

    def _apply(self, results: list[v1.ConfigCheckResult], details: list[v1.ConfigDetail]) -> None:
        """A missing detail writes the previous match (empty before any)."""
        previous = ""
        for result in results:
            old = self.folder / f"{result.name}@{result.old_version}.yaml"
            if result.check_status in (v1.MODIFIED, v1.DELETED):
                old.unlink(missing_ok=True)
            if result.check_status in (v1.NEW, v1.MODIFIED):
                previous = next((detail.detail for detail in details if detail.name == result.name), previous)
                _write(self.folder / f"{result.name}@{result.new_version}.yaml", previous)
