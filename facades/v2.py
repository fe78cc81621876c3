"""The v2 façade: LoongCollector's agent protocol (`configserver.proto.v2`) as calls on the fleet domain.

It follows what LoongCollector agents send, check and ignore (read from their source); its delta rules are
`core.versions.deliveries`. On the wire a version is the domain's plus one (v2 reserves 0; -1 removes), so
it is stable across restarts and replicas. Config details travel inline while the answer stays under
`INLINE_LIMIT`; beyond it the answer names the configs without their details and sets
FetchContinuousPipelineConfigDetail, and the agent fetches them through both fetch paths (it calls both
whenever the flag is set; it never reads FetchInstanceConfigDetail, which is therefore never set).

Agents ignore the answer's status and parse the body whatever it is: an error is answered with a
HeartbeatResponse (or FetchConfigResponse) carrying only `request_id` and `common_response`, which they
decode and find nothing in to apply.
"""

from collections.abc import Iterable, Sequence

from google.protobuf.message import Message

from configserver.proto.v2 import agent_v2_pb2 as v2
from core import errors, limits
from core.errors import ServiceError
from core.model import AgentAttributes, AgentProtocol, Caller, ConfigKind
from core.sessions import AgentSessions
from core.versions import Delivery, Held, deliveries, fetched
from pipeline.answers import Encoded, EncodedTails

INLINE_LIMIT = 512 * 1024
"""Bytes of config details a heartbeat answer carries inline; beyond, the agent fetches them."""
FETCH_DETAILS = v2.FetchContinuousPipelineConfigDetail
CAPABILITIES = v2.RembersAttribute | v2.RembersContinuousPipelineConfigStatus | v2.RembersInstanceConfigStatus
STATUS = {v2.APPLYING: "APPLYING", v2.APPLIED: "APPLIED", v2.FAILED: "FAILED"}


def _text(value: bytes) -> str:
    """A bytes field of the agent's as text (invalid UTF-8 replaced; bounded by the sessions when it is
    stored)."""
    return value.decode("utf-8", "replace")


def domain_version(wire: int) -> int | None:
    """A reported wire version in domain terms: V >= 1 is V - 1; -1 (removed locally) is None; anything
    else is a version no config has, so that the config is sent again."""
    return None if wire == -1 else (wire - 1 if wire >= 1 else -1)


def _instance_id(request: v2.HeartbeatRequest | v2.FetchConfigRequest) -> str:
    """The agent's identity, exactly as sent: bytes that are not UTF-8 are refused, not replaced (two
    different ids must not become one)."""
    try:
        return request.instance_id.decode()
    except UnicodeDecodeError:
        raise errors.bad_request("instance_id is not UTF-8.") from None


def _held(entries: Iterable[v2.ConfigInfo]) -> list[Held]:
    """What the agent reports holding, in domain versions (`domain_version`)."""
    return [
        Held(entry.name, domain_version(entry.version), STATUS.get(entry.status, "")) for entry in entries
    ]


def _details(found: Sequence[Delivery], inline: bool) -> list[v2.ConfigDetail]:
    return [
        v2.ConfigDetail(name=delivery.name, version=-1)
        if delivery.version is None
        else v2.ConfigDetail(
            name=delivery.name, version=delivery.version + 1, detail=delivery.detail if inline else b""
        )
        for delivery in found
    ]


def attributes(request: v2.HeartbeatRequest) -> AgentAttributes:
    given = request.attributes
    return AgentAttributes(
        agent_type=request.agent_type,
        ip=_text(given.ip),
        version=_text(given.version),
        running_status=request.running_status,
        startup_time=request.startup_time,
        tags=tuple(sorted({(tag.name, tag.value) for tag in request.tags})),
        protocol=AgentProtocol.V2,
        hostname=_text(given.hostname),
    )


def error_answer(response: type[Message], request_id: object, error: ServiceError) -> Message:
    """What an agent decodes and finds nothing to apply in; the code and message for a human."""
    common = v2.CommonResponse(status=1, errorMessage=f"{error.code.value}: {error.message}".encode())
    return response(request_id=request_id if isinstance(request_id, bytes) else b"", common_response=common)


def _heartbeat(pipelines: Sequence[Delivery], instances: Sequence[Delivery]) -> v2.HeartbeatResponse:
    """A heartbeat's answer without its `request_id`."""
    inline = sum(len(delivery.detail) for delivery in (*pipelines, *instances)) <= INLINE_LIMIT
    return v2.HeartbeatResponse(
        common_response=v2.CommonResponse(status=0),
        capabilities=CAPABILITIES,
        continuous_pipeline_config_updates=_details(pipelines, inline),
        instance_config_updates=_details(instances, inline),
        flags=0 if inline else FETCH_DETAILS,
    )


class V2Facade:
    """Implements `facades.contracts.AgentServiceV2`."""

    def __init__(self, sessions: AgentSessions) -> None:
        self._sessions = sessions
        self._heartbeats = EncodedTails()

    async def Heartbeat(self, request: v2.HeartbeatRequest, caller: Caller) -> Encoded[v2.HeartbeatResponse]:
        """Alive, what it holds and how applying went, and what it must apply or remove."""
        held_pipelines = _held(request.continuous_pipeline_configs)
        held_instances = _held(request.instance_configs)
        limits.count(held_pipelines, "continuous_pipeline_configs", limits.MAX_HELD_CONFIGS)
        limits.count(held_instances, "instance_configs", limits.MAX_HELD_CONFIGS)
        sessions = self._sessions
        agent = await sessions.heartbeat(_instance_id(request), attributes(request), caller)
        pipeline_configs = sessions.configs(agent, ConfigKind.PIPELINE)
        instance_configs = sessions.configs(agent, ConfigKind.INSTANCE)
        reported = (*held_pipelines, *held_instances)
        sessions.record(
            agent,
            (*pipeline_configs, *instance_configs),
            {entry.name: entry.version for entry in reported},
            {entry.name: entry.status for entry in reported},
        )
        pipelines = deliveries(pipeline_configs, held_pipelines)
        instances = deliveries(instance_configs, held_instances)
        tail = self._heartbeats.get((pipelines, instances), lambda: _heartbeat(pipelines, instances))
        return Encoded(v2.HeartbeatResponse, request.request_id, tail)

    async def _fetch(
        self, request: v2.FetchConfigRequest, kind: ConfigKind, caller: Caller
    ) -> v2.FetchConfigResponse:
        agent = await self._sessions.known(_instance_id(request), caller)
        asked = (
            request.continuous_pipeline_configs if kind is ConfigKind.PIPELINE else request.instance_configs
        )
        limits.count(asked, "configs", limits.MAX_HELD_CONFIGS)
        wanted = [entry.name for entry in asked]
        found = _details(fetched(self._sessions.configs(agent, kind), wanted), True)
        response = v2.FetchConfigResponse(request_id=request.request_id, common_response=v2.CommonResponse())
        updates = (
            response.continuous_pipeline_config_updates
            if kind is ConfigKind.PIPELINE
            else response.instance_config_updates
        )
        updates.extend(found)
        return response

    async def FetchPipelineConfig(
        self, request: v2.FetchConfigRequest, caller: Caller
    ) -> v2.FetchConfigResponse:
        return await self._fetch(request, ConfigKind.PIPELINE, caller)

    async def FetchInstanceConfig(
        self, request: v2.FetchConfigRequest, caller: Caller
    ) -> v2.FetchConfigResponse:
        return await self._fetch(request, ConfigKind.INSTANCE, caller)
