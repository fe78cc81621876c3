"""The alpha façade: the RPCs of the alpha protocol (`configserver.proto.UserService` and
`AgentService`) as calls on the fleet domain, and their answers as alpha messages.

Each method reads its request message into model types, makes one domain call, and builds its response
with `response_id` echoed, code Accept and the protocol document's message. A refusal is the domain's
`ServiceError`, which the request pipeline turns into the endpoint's error answer (`error_answer`). Serves
both transports; `facades.contracts` (generated from the service descriptors) lists what it must implement.
"""

from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import Message

from configserver.proto import agent_pb2, user_pb2
from core import limits
from core.commands import FleetCommands
from core.errors import Code, ServiceError
from core.model import (
    Agent,
    AgentAttributes,
    AgentGroup,
    AgentProtocol,
    AgentStatus,
    Alarm,
    AuditEvent,
    Caller,
    Config,
    ConfigKind,
    ConfigPatch,
    ConfigRevision,
    Count,
    RevisionAction,
    Statistics,
)
from core.queries import FleetQueries
from core.sessions import AgentSessions
from core.versions import ConfigUpdate, config_updates
from pipeline.answers import Encoded, EncodedTails

ACCEPT = Code.ACCEPT.value

M = TypeVar("M", bound=Message)


def _group(message: user_pb2.AgentGroup) -> AgentGroup:
    return AgentGroup(
        name=message.group_name,
        description=message.description,
        tags=tuple((tag.name, tag.value) for tag in message.tags),
    )


def _config(message: user_pb2.Config) -> Config:
    """The version of a request's config is ignored: the server numbers versions."""
    return Config(
        name=message.config_name,
        agent_type=message.agent_type,
        description=message.description,
        content=message.content,
        kind=_kind(message.kind),
    )


def _kind(value: int) -> ConfigKind:
    if value not in KIND_OF:
        raise limits.invalid(f"kind {value} is not a ConfigKind.")
    return KIND_OF[value]


def _group_message(group: AgentGroup) -> user_pb2.AgentGroup:
    return user_pb2.AgentGroup(
        group_name=group.name,
        description=group.description,
        tags=[user_pb2.AgentGroupTag(name=name, value=value) for name, value in group.tags],
    )


def _patch(message: user_pb2.Config) -> ConfigPatch:
    """An update: the fields the request leaves out keep their stored values."""
    return ConfigPatch(
        name=message.config_name,
        content=message.content,
        agent_type=message.agent_type if message.HasField("agent_type") else None,
        description=message.description if message.HasField("description") else None,
        kind=_kind(message.kind) if message.HasField("kind") else None,
    )


def _expected(
    request: user_pb2.UpdateConfigRequest | user_pb2.DeleteConfigRequest | user_pb2.RollbackConfigRequest,
) -> int | None:
    return request.expected_version if request.HasField("expected_version") else None


def _config_message(config: Config) -> user_pb2.Config:
    return user_pb2.Config(
        config_name=config.name,
        agent_type=config.agent_type,
        description=config.description,
        content=config.content,
        version=config.version,
        update_time=config.update_time,
        kind=KIND[config.kind],
    )


ACTION = {
    RevisionAction.CREATE: user_pb2.CREATE,
    RevisionAction.UPDATE: user_pb2.UPDATE,
    RevisionAction.DELETE: user_pb2.DELETE,
    RevisionAction.ROLLBACK: user_pb2.ROLLBACK,
}


def _revision_message(revision: ConfigRevision) -> user_pb2.ConfigRevision:
    return user_pb2.ConfigRevision(
        version=revision.config.version,
        action=ACTION[revision.action],
        time=revision.time,
        actor=revision.actor,
        reason=revision.reason,
        config=_config_message(revision.config),
    )


def _event_message(event: AuditEvent) -> user_pb2.AuditEvent:
    return user_pb2.AuditEvent(
        time=event.time,
        actor=event.actor,
        peer=event.peer,
        rpc=event.rpc,
        target=event.target,
        code=event.code,
        reason=event.reason,
    )


KIND = {ConfigKind.PIPELINE: user_pb2.PIPELINE, ConfigKind.INSTANCE: user_pb2.INSTANCE}
KIND_OF: dict[int, ConfigKind] = {value: kind for kind, value in KIND.items()}
STATUS = {AgentStatus.ONLINE: agent_pb2.ONLINE, AgentStatus.OFFLINE: agent_pb2.OFFLINE}
STATUS_FILTER: dict[int, AgentStatus | None] = {
    agent_pb2.AGENT_STATUS_UNSPECIFIED: None,
    agent_pb2.ONLINE: AgentStatus.ONLINE,
    agent_pb2.OFFLINE: AgentStatus.OFFLINE,
}


def _status_filter(value: int) -> AgentStatus | None:
    if value not in STATUS_FILTER:
        raise limits.invalid(f"status {value} is not an AgentStatus.")
    return STATUS_FILTER[value]


def _protocol_filter(value: str) -> AgentProtocol | None:
    if not value:
        return None
    try:
        return AgentProtocol(value)
    except ValueError:
        known = ", ".join(protocol.value for protocol in AgentProtocol)
        raise limits.invalid(f"protocol {value!r} is not one the server speaks ({known}).") from None


def _agent_message(agent: Agent, status: AgentStatus) -> agent_pb2.Agent:
    attributes = agent.attributes
    return agent_pb2.Agent(
        agent_id=agent.agent_id,
        agent_type=attributes.agent_type,
        ip=attributes.ip,
        version=attributes.version,
        running_status=attributes.running_status,
        startup_time=attributes.startup_time,
        latest_heartbeat_time=agent.latest_heartbeat_time,
        tags={name or value: value if name else "" for name, value in attributes.tags},  # v1: values only
        running_details=agent.running_details,
        status=STATUS[status],
        config_versions=dict(agent.config_versions),
        last_config_fetch_time=agent.last_config_fetch_time,
        protocol=attributes.protocol.value,
        hostname=attributes.hostname,
        config_statuses=dict(agent.config_statuses),
    )


def _alarm_message(alarm: Alarm) -> agent_pb2.AgentAlarm:
    return agent_pb2.AgentAlarm(
        agent_id=alarm.agent_id, type=alarm.type, detail=alarm.detail, time=alarm.time
    )


def _count(count: Count) -> user_pb2.AgentCount:
    return user_pb2.AgentCount(online=count.online, offline=count.offline)


def error_answer(response: type[Message], request_id: object, error: ServiceError) -> Message:
    """The alpha protocol's refusal: the response with `response_id` echoed, `code` and `message`."""
    echoed = request_id if isinstance(request_id, str) else ""
    return response(response_id=echoed, code=error.code.value, message=error.message)


def _accepted(response: type[M], request_id: str, message: str) -> M:
    return response(response_id=request_id, code=ACCEPT, message=message)


HEARTBEAT_ACCEPTED = _accepted(agent_pb2.HeartBeatResponse, "", "Send heartbeat success").SerializeToString()
"""Every accepted HeartBeat's answer after its `response_id`."""


def _config_list(updates: Sequence[ConfigUpdate]) -> agent_pb2.AgentGetConfigListResponse:
    """A GetConfigList answer without its `response_id`."""
    response = _accepted(agent_pb2.AgentGetConfigListResponse, "", "Get config update infos success")
    response.config_update_infos.extend(
        agent_pb2.ConfigUpdateInfo(
            config_name=update.name,
            update_status=agent_pb2.ConfigUpdateInfo.UpdateStatus.ValueType(update.status.value),
            config_version=update.version,
            content=update.content,
        )
        for update in updates
    )
    return response


class AlphaFacade:
    """Implements `facades.contracts.UserService` and `AgentService`."""

    def __init__(self, queries: FleetQueries, commands: FleetCommands, sessions: AgentSessions) -> None:
        self._queries = queries
        self._commands = commands
        self._sessions = sessions
        self._config_lists = EncodedTails()

    # User API: agent groups.

    async def CreateAgentGroup(
        self, request: user_pb2.CreateAgentGroupRequest, caller: Caller
    ) -> user_pb2.CreateAgentGroupResponse:
        await self._commands.create_group(_group(request.agent_group), caller, request.reason)
        return _accepted(user_pb2.CreateAgentGroupResponse, request.request_id, "Add agent group success")

    async def UpdateAgentGroup(
        self, request: user_pb2.UpdateAgentGroupRequest, caller: Caller
    ) -> user_pb2.UpdateAgentGroupResponse:
        await self._commands.update_group(_group(request.agent_group), caller, request.reason)
        return _accepted(user_pb2.UpdateAgentGroupResponse, request.request_id, "Update agent group success")

    async def DeleteAgentGroup(
        self, request: user_pb2.DeleteAgentGroupRequest, caller: Caller
    ) -> user_pb2.DeleteAgentGroupResponse:
        await self._commands.delete_group(request.group_name, caller, request.reason)
        return _accepted(user_pb2.DeleteAgentGroupResponse, request.request_id, "Delete agent group success")

    async def GetAgentGroup(
        self, request: user_pb2.GetAgentGroupRequest, caller: Caller
    ) -> user_pb2.GetAgentGroupResponse:
        response = _accepted(user_pb2.GetAgentGroupResponse, request.request_id, "Get agent group success")
        response.agent_group.CopyFrom(_group_message(await self._queries.group(request.group_name, caller)))
        return response

    async def ListAgentGroups(
        self, request: user_pb2.ListAgentGroupsRequest, caller: Caller
    ) -> user_pb2.ListAgentGroupsResponse:
        response = _accepted(
            user_pb2.ListAgentGroupsResponse, request.request_id, "Get agent group list success"
        )
        response.agent_groups.extend(_group_message(group) for group in await self._queries.groups(caller))
        return response

    # User API: configs.

    async def CreateConfig(
        self, request: user_pb2.CreateConfigRequest, caller: Caller
    ) -> user_pb2.CreateConfigResponse:
        await self._commands.create_config(_config(request.config_detail), caller, request.reason)
        return _accepted(user_pb2.CreateConfigResponse, request.request_id, "Add config success")

    async def UpdateConfig(
        self, request: user_pb2.UpdateConfigRequest, caller: Caller
    ) -> user_pb2.UpdateConfigResponse:
        await self._commands.update_config(
            _patch(request.config_detail), _expected(request), caller, request.reason
        )
        return _accepted(user_pb2.UpdateConfigResponse, request.request_id, "Update config success")

    async def DeleteConfig(
        self, request: user_pb2.DeleteConfigRequest, caller: Caller
    ) -> user_pb2.DeleteConfigResponse:
        await self._commands.delete_config(request.config_name, _expected(request), caller, request.reason)
        return _accepted(user_pb2.DeleteConfigResponse, request.request_id, "Delete config success")

    async def GetConfig(
        self, request: user_pb2.GetConfigRequest, caller: Caller
    ) -> user_pb2.GetConfigResponse:
        response = _accepted(user_pb2.GetConfigResponse, request.request_id, "Get config success")
        response.config_detail.CopyFrom(
            _config_message(await self._queries.config(request.config_name, caller))
        )
        return response

    async def ListConfigs(
        self, request: user_pb2.ListConfigsRequest, caller: Caller
    ) -> user_pb2.ListConfigsResponse:
        page = await self._queries.configs(caller, request.page_size, request.page_token)
        response = _accepted(user_pb2.ListConfigsResponse, request.request_id, "Get config list success")
        response.config_details.extend(_config_message(config) for config in page.items)
        response.next_page_token = page.next_token
        return response

    async def ListConfigHistory(
        self, request: user_pb2.ListConfigHistoryRequest, caller: Caller
    ) -> user_pb2.ListConfigHistoryResponse:
        page = await self._queries.history(request.config_name, request.page_size, request.page_token, caller)
        response = _accepted(
            user_pb2.ListConfigHistoryResponse, request.request_id, "Get config history success"
        )
        response.revisions.extend(_revision_message(revision) for revision in page.items)
        response.next_page_token = page.next_token
        return response

    async def RollbackConfig(
        self, request: user_pb2.RollbackConfigRequest, caller: Caller
    ) -> user_pb2.RollbackConfigResponse:
        config = await self._commands.rollback(
            request.config_name, request.to_version, _expected(request), caller, request.reason
        )
        response = _accepted(user_pb2.RollbackConfigResponse, request.request_id, "Rollback config success")
        response.config_detail.CopyFrom(_config_message(config))
        return response

    # User API: bindings and agents.

    async def ApplyConfigToAgentGroup(
        self, request: user_pb2.ApplyConfigToAgentGroupRequest, caller: Caller
    ) -> user_pb2.ApplyConfigToAgentGroupResponse:
        await self._commands.apply(request.group_name, request.config_name, caller, request.reason)
        return _accepted(
            user_pb2.ApplyConfigToAgentGroupResponse, request.request_id, "Add config to agent group success"
        )

    async def RemoveConfigFromAgentGroup(
        self, request: user_pb2.RemoveConfigFromAgentGroupRequest, caller: Caller
    ) -> user_pb2.RemoveConfigFromAgentGroupResponse:
        await self._commands.remove(request.group_name, request.config_name, caller, request.reason)
        return _accepted(
            user_pb2.RemoveConfigFromAgentGroupResponse,
            request.request_id,
            "Remove config from agent group success",
        )

    async def GetAppliedConfigsForAgentGroup(
        self, request: user_pb2.GetAppliedConfigsForAgentGroupRequest, caller: Caller
    ) -> user_pb2.GetAppliedConfigsForAgentGroupResponse:
        response = _accepted(
            user_pb2.GetAppliedConfigsForAgentGroupResponse,
            request.request_id,
            "Get applied configs for agent group success",
        )
        response.config_names.extend(await self._queries.applied_configs(request.group_name, caller))
        return response

    async def GetAppliedAgentGroups(
        self, request: user_pb2.GetAppliedAgentGroupsRequest, caller: Caller
    ) -> user_pb2.GetAppliedAgentGroupsResponse:
        response = _accepted(
            user_pb2.GetAppliedAgentGroupsResponse, request.request_id, "Get applied agent groups success"
        )
        response.agent_group_names.extend(await self._queries.groups_applying(request.config_name, caller))
        return response

    async def ListAgents(
        self, request: user_pb2.ListAgentsRequest, caller: Caller
    ) -> user_pb2.ListAgentsResponse:
        queries = self._queries
        page = await queries.agents(
            request.group_name,
            caller,
            _status_filter(request.status),
            request.page_size,
            request.page_token,
            _protocol_filter(request.protocol),
        )
        response = _accepted(user_pb2.ListAgentsResponse, request.request_id, "Get agent list success")
        response.agents.extend(_agent_message(agent, queries.status(agent)) for agent in page.items)
        response.next_page_token = page.next_token
        return response

    async def DeleteAgent(
        self, request: user_pb2.DeleteAgentRequest, caller: Caller
    ) -> user_pb2.DeleteAgentResponse:
        await self._commands.delete_agent(request.agent_id, caller, request.reason)
        return _accepted(user_pb2.DeleteAgentResponse, request.request_id, "Delete agent success")

    async def GetConfigStatus(
        self, request: user_pb2.GetConfigStatusRequest, caller: Caller
    ) -> user_pb2.GetConfigStatusResponse:
        rollout = await self._queries.config_status(request.config_name, caller)
        response = _accepted(
            user_pb2.GetConfigStatusResponse, request.request_id, "Get config status success"
        )
        response.config_version = rollout.config_version
        response.agents_targeted = rollout.targeted
        response.agents_online = rollout.online
        response.agents_current = rollout.current
        response.agents_outdated = rollout.outdated
        response.agents_pending = rollout.pending
        response.lagging_agent_ids.extend(rollout.lagging)
        response.agents_applying = rollout.applying
        response.agents_applied = rollout.applied
        response.agents_failed = rollout.failed
        return response

    async def ListAlarms(
        self, request: user_pb2.ListAlarmsRequest, caller: Caller
    ) -> user_pb2.ListAlarmsResponse:
        page = await self._queries.alarms(
            request.agent_id, request.type, request.since, request.page_size, request.page_token, caller
        )
        response = _accepted(user_pb2.ListAlarmsResponse, request.request_id, "Get alarm list success")
        response.alarms.extend(_alarm_message(alarm) for alarm in page.items)
        response.next_page_token = page.next_token
        return response

    async def WhoAmI(self, request: user_pb2.WhoAmIRequest, caller: Caller) -> user_pb2.WhoAmIResponse:
        response = _accepted(user_pb2.WhoAmIResponse, request.request_id, "Who am I success")
        response.actor = caller.actor
        response.role = "editor" if caller.may_write else "viewer"
        return response

    async def PreviewAgentGroup(
        self, request: user_pb2.PreviewAgentGroupRequest, caller: Caller
    ) -> user_pb2.PreviewAgentGroupResponse:
        preview = await self._queries.preview(_group(request.agent_group), caller)
        response = _accepted(
            user_pb2.PreviewAgentGroupResponse, request.request_id, "Preview agent group success"
        )
        response.agents_matched = preview.matched
        response.agents_now = preview.now
        response.agents_added = preview.added_count
        response.agents_removed = preview.removed_count
        response.added_agent_ids.extend(preview.added)
        response.removed_agent_ids.extend(preview.removed)
        return response

    async def GetFleetSummary(
        self, request: user_pb2.GetFleetSummaryRequest, caller: Caller
    ) -> user_pb2.GetFleetSummaryResponse:
        summary = await self._queries.summary(caller)
        response = _accepted(
            user_pb2.GetFleetSummaryResponse, request.request_id, "Get fleet summary success"
        )
        response.agents.CopyFrom(_count(summary.agents))
        for name, count in summary.by_protocol.items():
            response.agents_by_protocol[name].CopyFrom(_count(count))
        for name, count in summary.by_group.items():
            response.agents_by_group[name].CopyFrom(_count(count))
        response.alarms_last_hour = summary.alarms_last_hour
        return response

    async def ListAuditEvents(
        self, request: user_pb2.ListAuditEventsRequest, caller: Caller
    ) -> user_pb2.ListAuditEventsResponse:
        page = await self._queries.audit_events(
            request.since, request.actor, request.target, request.page_size, request.page_token, caller
        )
        response = _accepted(user_pb2.ListAuditEventsResponse, request.request_id, "Get audit events success")
        response.events.extend(_event_message(event) for event in page.items)
        response.next_page_token = page.next_token
        return response

    # Agent API.

    async def HeartBeat(
        self, request: agent_pb2.HeartBeatRequest, caller: Caller
    ) -> Encoded[agent_pb2.HeartBeatResponse]:
        attributes = AgentAttributes(
            agent_type=request.agent_type,
            ip=request.ip,
            version=request.agent_version,
            running_status=request.running_status,
            startup_time=request.startup_time,
            tags=tuple(sorted(request.tags.items())),
        )
        await self._sessions.heartbeat(request.agent_id, attributes, caller)
        return Encoded(agent_pb2.HeartBeatResponse, request.request_id, HEARTBEAT_ACCEPTED)

    async def RunningStatistics(
        self, request: agent_pb2.RunningStatisticsRequest, caller: Caller
    ) -> agent_pb2.RunningStatisticsResponse:
        details = request.running_details
        statistics = Statistics(cpu=details.cpu, memory=details.memory, extras=dict(details.extras))
        await self._sessions.report_statistics(request.agent_id, statistics, caller)
        return _accepted(
            agent_pb2.RunningStatisticsResponse, request.request_id, "Send running statistics success"
        )

    async def Alarm(self, request: agent_pb2.AlarmRequest, caller: Caller) -> agent_pb2.AlarmResponse:
        await self._sessions.alarm(request.agent_id, request.type, request.detail, caller)
        return _accepted(agent_pb2.AlarmResponse, request.request_id, "Alarm success")

    async def GetConfigList(
        self, request: agent_pb2.AgentGetConfigListRequest, caller: Caller
    ) -> Encoded[agent_pb2.AgentGetConfigListResponse]:
        sessions, held = self._sessions, request.config_versions
        agent = await sessions.known(request.agent_id, caller)
        limits.count(held, "config_versions", limits.MAX_HELD_CONFIGS)
        effective = sessions.configs(agent, ConfigKind.PIPELINE)
        sessions.record(agent, effective, held)
        updates = config_updates(effective, held)
        tail = self._config_lists.get(updates, lambda: _config_list(updates))
        return Encoded(agent_pb2.AgentGetConfigListResponse, request.request_id, tail)
