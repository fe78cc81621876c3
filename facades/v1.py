"""The v1 façade: iLogtail's agent protocol (`configserver.proto.v1`, served on its own listener) as calls
on the fleet domain.

It follows what iLogtail agents send, check and ignore (read from their source); its delta rules are
`core.versions.checks`. Agents drop any answer whose `request_id` is not theirs, so every answer, errors
included, echoes it. On the wire a version is the domain's plus one (iLogtail 1.x parses versions with
`stoi`: they stay below 2^31 as long as a config has had fewer writes). v1 agents send their tags' values
without names: each becomes the tag ("", value), which matches any group tag of that value. Details are
served as stored (YAML, or JSON, which is YAML too); only pipeline configs reach v1 agents.
"""

from google.protobuf.message import Message

from configserver.proto.v1 import agent_v1_pb2 as v1
from core import limits
from core.errors import Code, ServiceError
from core.model import Agent, AgentAttributes, AgentProtocol, Caller, Config, ConfigKind
from core.sessions import AgentSessions
from core.versions import CheckStatus, checks

CHECK_STATUS = {CheckStatus.NEW: v1.NEW, CheckStatus.MODIFIED: v1.MODIFIED, CheckStatus.DELETED: v1.DELETED}


def _wire(version: int | None) -> int:
    return 0 if version is None else version + 1


def attributes(request: v1.HeartBeatRequest) -> AgentAttributes:
    return AgentAttributes(
        agent_type=request.agent_type,
        ip=request.attributes.ip,
        version=request.attributes.version,
        running_status=request.running_status,
        startup_time=request.startup_time,
        tags=tuple(sorted({("", value) for value in request.tags if value})),  # an unset tag says nothing
        protocol=AgentProtocol.V1,
        hostname=request.attributes.hostname,
    )


def error_answer(response: type[Message], request_id: object, error: ServiceError) -> Message:
    """Echoes `request_id` (agents drop answers that do not) with a code the agent ignores."""
    code = v1.INTERNAL_SERVER_ERROR if error.code is Code.INTERNAL_SERVER_ERROR else v1.INVALID_PARAMETER
    return response(
        request_id=request_id if isinstance(request_id, str) else "",
        code=code,
        message=f"{error.code.value}: {error.message}",
    )


class V1Facade:
    """Implements `facades.contracts.AgentServiceV1`."""

    def __init__(self, sessions: AgentSessions) -> None:
        self._sessions = sessions

    async def _pipelines(
        self, request: v1.HeartBeatRequest, held: dict[str, int], caller: Caller
    ) -> list[Config]:
        """Alive, and what it holds recorded: the agent's pipeline configs.

        LoongCollector's legacy client shares its instance id with its v2 client, whose record (tags, held
        versions, statuses) stays as that client reports it: this one is only served."""
        sessions = self._sessions
        known = sessions.find(request.agent_id)
        if known is not None and known.attributes.protocol is AgentProtocol.V2:
            return list(sessions.configs(sessions.alive(known), ConfigKind.PIPELINE))
        agent: Agent = await sessions.heartbeat(request.agent_id, attributes(request), caller)
        effective = sessions.configs(agent, ConfigKind.PIPELINE)
        sessions.record(agent, effective, held)
        return list(effective)

    async def HeartBeat(self, request: v1.HeartBeatRequest, caller: Caller) -> v1.HeartBeatResponse:
        """Alive, what it holds, and the changes it must make to its pipeline configs."""
        reported = {entry.name: entry.version for entry in request.pipeline_configs}
        limits.count(reported, "pipeline_configs", limits.MAX_HELD_CONFIGS)
        held = {name: max(version, 0) - 1 for name, version in reported.items()}  # 0 and below: none held
        found = checks(await self._pipelines(request, held, caller), held)
        response = v1.HeartBeatResponse(request_id=request.request_id, code=v1.ACCEPT)
        response.pipeline_check_results.extend(
            v1.ConfigCheckResult(
                type=v1.PIPELINE_CONFIG,
                name=check.name,
                old_version=reported.get(check.name, 0),  # as the agent said it: 1.x deletes name@old
                new_version=_wire(check.new_version),
                check_status=CHECK_STATUS[check.status],
            )
            for check in found
        )
        return response

    async def FetchPipelineConfig(
        self, request: v1.FetchPipelineConfigRequest, caller: Caller
    ) -> v1.FetchPipelineConfigResponse:
        """The pipeline configs it asks for, by name; one no longer in effect comes back empty (the agent
        writes what it gets)."""
        agent = await self._sessions.known(request.agent_id, caller)
        limits.count(request.req_configs, "req_configs", limits.MAX_HELD_CONFIGS)
        effective = {config.name: config for config in self._sessions.configs(agent, ConfigKind.PIPELINE)}
        configs = [effective.get(entry.name) or Config(entry.name) for entry in request.req_configs]
        response = v1.FetchPipelineConfigResponse(request_id=request.request_id, code=v1.ACCEPT)
        response.config_details.extend(
            v1.ConfigDetail(
                type=v1.PIPELINE_CONFIG,
                name=config.name,
                version=_wire(config.version) if config.content else 0,
                detail=config.content,
            )
            for config in configs
        )
        return response

    async def FetchAgentConfig(
        self, request: v1.FetchAgentConfigRequest, caller: Caller
    ) -> v1.FetchAgentConfigResponse:
        """No released agent asks; the answer is valid and empty."""
        return v1.FetchAgentConfigResponse(request_id=request.request_id, code=v1.ACCEPT)
