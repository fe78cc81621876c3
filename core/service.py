"""The ConfigService: every RPC of the protocol, request message in, response message out.

Both transports call the same instance, each from its own thread and event loop; the state they share
is `core.state.State`:
- reads (GetConfigList, the User API's Get/List calls) are answered from memory: the catalog snapshot
  and the agent registry, with no store round trip and no lock held across an await;
- writes run on the store thread, where the store transaction and the in-memory update happen together,
  in commit order; the caller answers only after the write is durable;
- the heartbeat of a known agent whose attributes did not change touches memory only; the store gets its
  time in the next batch, at most `flush_interval` seconds later.

Methods are named after the RPCs (`CreateAgentGroup`, …): the transports find them by the method names of
the service descriptors. A refused request raises `ServiceError`; success returns the response message
with `response_id` echoed and `code` Accept.
"""

import logging
import time
from collections.abc import Callable

from configserver.proto import agent_pb2, user_pb2
from core import errors, limits
from core.errors import Code
from core.model import DEFAULT_GROUP, Agent, AgentAttributes, AgentGroup, Config
from core.state import State
from core.versions import config_updates

log = logging.getLogger(__name__)

ACCEPT = Code.ACCEPT.value


def _group(message: user_pb2.AgentGroup) -> AgentGroup:
    return AgentGroup(
        name=limits.name(message.group_name, "agent_group.group_name"),
        description=limits.text(message.description, "agent_group.description"),
        tags=limits.tags(((tag.name, tag.value) for tag in message.tags), "agent_group.tags"),
    )


def _config(message: user_pb2.Config) -> Config:
    content = limits.required(message.content, "config_detail.content")
    return Config(
        name=limits.name(message.config_name, "config_detail.config_name"),
        agent_type=limits.text(message.agent_type, "config_detail.agent_type"),
        description=limits.text(message.description, "config_detail.description"),
        content=limits.text(content, "config_detail.content", limits.MAX_CONTENT),
    )


def _attributes(attributes: AgentAttributes) -> AgentAttributes:
    """Check what an agent says of itself (only when it is about to be stored: a new agent, a change)."""
    limits.text(attributes.agent_type, "agent_type")
    limits.text(attributes.ip, "ip")
    limits.text(attributes.version, "agent_version")
    limits.text(attributes.running_status, "running_status")
    limits.tags(attributes.tags, "tags")
    return attributes


def _group_message(group: AgentGroup) -> user_pb2.AgentGroup:
    return user_pb2.AgentGroup(
        group_name=group.name,
        description=group.description,
        tags=[user_pb2.AgentGroupTag(name=name, value=value) for name, value in group.tags],
    )


def _config_message(config: Config) -> user_pb2.Config:
    return user_pb2.Config(
        config_name=config.name,
        agent_type=config.agent_type,
        description=config.description,
        content=config.content,
    )


def _agent_message(agent: Agent) -> agent_pb2.Agent:
    attributes = agent.attributes
    return agent_pb2.Agent(
        agent_id=agent.agent_id,
        agent_type=attributes.agent_type,
        ip=attributes.ip,
        version=attributes.version,
        running_status=attributes.running_status,
        startup_time=attributes.startup_time,
        latest_heartbeat_time=agent.latest_heartbeat_time,
        tags=dict(attributes.tags),
        running_details=agent.running_details,
    )


class ConfigService:
    def __init__(self, state: State, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self._store = state.store
        self._clock = clock

    # User API: agent groups.

    async def CreateAgentGroup(
        self, request: user_pb2.CreateAgentGroupRequest
    ) -> user_pb2.CreateAgentGroupResponse:
        group = _group(request.agent_group)

        def write() -> None:
            self._store.create_group(group)
            self.state.catalog = self.state.catalog.with_group(group)

        await self.state.write(write)
        return user_pb2.CreateAgentGroupResponse(
            response_id=request.request_id, code=ACCEPT, message="Add agent group success"
        )

    async def UpdateAgentGroup(
        self, request: user_pb2.UpdateAgentGroupRequest
    ) -> user_pb2.UpdateAgentGroupResponse:
        group = _group(request.agent_group)

        def write() -> None:
            self._store.update_group(group)
            self.state.catalog = self.state.catalog.with_group(group)

        await self.state.write(write)
        return user_pb2.UpdateAgentGroupResponse(
            response_id=request.request_id, code=ACCEPT, message="Update agent group success"
        )

    async def DeleteAgentGroup(
        self, request: user_pb2.DeleteAgentGroupRequest
    ) -> user_pb2.DeleteAgentGroupResponse:
        name = limits.name(request.group_name, "group_name")
        if name == DEFAULT_GROUP:
            raise errors.bad_request("The default agent group cannot be deleted.")

        def write() -> None:
            self._store.delete_group(name)
            self.state.catalog = self.state.catalog.without_group(name)

        await self.state.write(write)
        return user_pb2.DeleteAgentGroupResponse(
            response_id=request.request_id, code=ACCEPT, message="Delete agent group success"
        )

    async def GetAgentGroup(self, request: user_pb2.GetAgentGroupRequest) -> user_pb2.GetAgentGroupResponse:
        group = self._existing_group(request.group_name)
        return user_pb2.GetAgentGroupResponse(
            response_id=request.request_id,
            code=ACCEPT,
            message="Get agent group success",
            agent_group=_group_message(group),
        )

    async def ListAgentGroups(
        self, request: user_pb2.ListAgentGroupsRequest
    ) -> user_pb2.ListAgentGroupsResponse:
        groups = self.state.catalog.groups
        return user_pb2.ListAgentGroupsResponse(
            response_id=request.request_id,
            code=ACCEPT,
            message="Get agent group list success",
            agent_groups=[_group_message(groups[name]) for name in sorted(groups)],
        )

    def _existing_group(self, name: str) -> AgentGroup:
        group = self.state.catalog.groups.get(limits.name(name, "group_name"))
        if group is None:
            raise errors.group_not_found(name)
        return group

    # User API: configs.

    async def CreateConfig(self, request: user_pb2.CreateConfigRequest) -> user_pb2.CreateConfigResponse:
        config = _config(request.config_detail)

        def write() -> None:
            stored = self._store.create_config(config)
            self.state.catalog = self.state.catalog.with_config(stored)

        await self.state.write(write)
        return user_pb2.CreateConfigResponse(
            response_id=request.request_id, code=ACCEPT, message="Add config success"
        )

    async def UpdateConfig(self, request: user_pb2.UpdateConfigRequest) -> user_pb2.UpdateConfigResponse:
        config = _config(request.config_detail)

        def write() -> None:
            stored = self._store.update_config(config)
            self.state.catalog = self.state.catalog.with_config(stored)

        await self.state.write(write)
        return user_pb2.UpdateConfigResponse(
            response_id=request.request_id, code=ACCEPT, message="Update config success"
        )

    async def DeleteConfig(self, request: user_pb2.DeleteConfigRequest) -> user_pb2.DeleteConfigResponse:
        name = limits.name(request.config_name, "config_name")

        def write() -> None:
            self._store.delete_config(name)
            self.state.catalog = self.state.catalog.without_config(name)

        await self.state.write(write)
        return user_pb2.DeleteConfigResponse(
            response_id=request.request_id, code=ACCEPT, message="Delete config success"
        )

    async def GetConfig(self, request: user_pb2.GetConfigRequest) -> user_pb2.GetConfigResponse:
        config = self._existing_config(request.config_name)
        return user_pb2.GetConfigResponse(
            response_id=request.request_id,
            code=ACCEPT,
            message="Get config success",
            config_detail=_config_message(config),
        )

    async def ListConfigs(self, request: user_pb2.ListConfigsRequest) -> user_pb2.ListConfigsResponse:
        configs = self.state.catalog.configs
        return user_pb2.ListConfigsResponse(
            response_id=request.request_id,
            code=ACCEPT,
            message="Get config list success",
            config_details=[_config_message(configs[name]) for name in sorted(configs)],
        )

    def _existing_config(self, name: str) -> Config:
        config = self.state.catalog.configs.get(limits.name(name, "config_name"))
        if config is None:
            raise errors.config_not_found(name)
        return config

    # User API: bindings.

    async def ApplyConfigToAgentGroup(
        self, request: user_pb2.ApplyConfigToAgentGroupRequest
    ) -> user_pb2.ApplyConfigToAgentGroupResponse:
        group_name = limits.name(request.group_name, "group_name")
        config_name = limits.name(request.config_name, "config_name")

        def write() -> None:
            self._store.apply_config(group_name, config_name)
            self.state.catalog = self.state.catalog.with_binding(group_name, config_name)

        await self.state.write(write)
        return user_pb2.ApplyConfigToAgentGroupResponse(
            response_id=request.request_id, code=ACCEPT, message="Add config to agent group success"
        )

    async def RemoveConfigFromAgentGroup(
        self, request: user_pb2.RemoveConfigFromAgentGroupRequest
    ) -> user_pb2.RemoveConfigFromAgentGroupResponse:
        group_name = limits.name(request.group_name, "group_name")
        config_name = limits.name(request.config_name, "config_name")

        def write() -> None:
            self._store.remove_config(group_name, config_name)
            self.state.catalog = self.state.catalog.without_binding(group_name, config_name)

        await self.state.write(write)
        return user_pb2.RemoveConfigFromAgentGroupResponse(
            response_id=request.request_id, code=ACCEPT, message="Remove config from agent group success"
        )

    async def GetAppliedConfigsForAgentGroup(
        self, request: user_pb2.GetAppliedConfigsForAgentGroupRequest
    ) -> user_pb2.GetAppliedConfigsForAgentGroupResponse:
        group = self._existing_group(request.group_name)
        return user_pb2.GetAppliedConfigsForAgentGroupResponse(
            response_id=request.request_id,
            code=ACCEPT,
            message="Get applied configs for agent group success",
            config_names=self.state.catalog.applied_configs(group.name),
        )

    async def GetAppliedAgentGroups(
        self, request: user_pb2.GetAppliedAgentGroupsRequest
    ) -> user_pb2.GetAppliedAgentGroupsResponse:
        config = self._existing_config(request.config_name)
        return user_pb2.GetAppliedAgentGroupsResponse(
            response_id=request.request_id,
            code=ACCEPT,
            message="Get applied agent groups success",
            agent_group_names=self.state.catalog.groups_applying(config.name),
        )

    async def ListAgents(self, request: user_pb2.ListAgentsRequest) -> user_pb2.ListAgentsResponse:
        group = self._existing_group(request.group_name)
        agents = self.state.agents.members(None if group.name == DEFAULT_GROUP else group.tags)
        await self.state.refresh_heartbeats(agents)
        return user_pb2.ListAgentsResponse(
            response_id=request.request_id,
            code=ACCEPT,
            message="Get agent list success",
            agents=[_agent_message(agent) for agent in agents],
        )

    # Agent API.

    async def HeartBeat(self, request: agent_pb2.HeartBeatRequest) -> agent_pb2.HeartBeatResponse:
        agent_id = request.agent_id
        attributes = AgentAttributes(
            agent_type=request.agent_type,
            ip=request.ip,
            version=request.agent_version,
            running_status=request.running_status,
            startup_time=request.startup_time,
            tags=tuple(sorted(request.tags.items())),
        )
        now = int(self._clock())
        known = self.state.agents.get(agent_id)
        if known is not None and known.attributes == attributes:
            self.state.agents.touch(known, now)
        else:
            limits.name(agent_id, "agent_id")
            details = known.running_details if known is not None else {}
            agent = Agent(agent_id, _attributes(attributes), now, details)

            def write() -> None:
                self._store.save_agent(agent)
                self.state.agents.put(agent)

            await self.state.write(write)
            if known is None:
                log.info("agent registered", extra={"agent_id": agent_id, "ip": attributes.ip})
        return agent_pb2.HeartBeatResponse(
            response_id=request.request_id, code=ACCEPT, message="Send heartbeat success"
        )

    async def RunningStatistics(
        self, request: agent_pb2.RunningStatisticsRequest
    ) -> agent_pb2.RunningStatisticsResponse:
        agent = await self._known_agent(request.agent_id)
        statistics = request.running_details
        limits.count(statistics.extras, "running_details.extras", limits.MAX_EXTRAS)
        details = {"CPU": format(statistics.cpu, "g"), "Memory": str(statistics.memory)}
        details.update(statistics.extras)
        self.state.agents.set_running_details(agent, details)
        return agent_pb2.RunningStatisticsResponse(
            response_id=request.request_id, code=ACCEPT, message="Send running statistics success"
        )

    async def Alarm(self, request: agent_pb2.AlarmRequest) -> agent_pb2.AlarmResponse:
        agent = await self._known_agent(request.agent_id)
        limits.text(request.type + request.detail, "type and detail", limits.MAX_ALARM)
        log.warning(
            "agent alarm",
            extra={"agent_id": agent.agent_id, "alarm_type": request.type, "detail": request.detail[:1024]},
        )
        return agent_pb2.AlarmResponse(response_id=request.request_id, code=ACCEPT, message="Alarm success")

    async def GetConfigList(
        self, request: agent_pb2.AgentGetConfigListRequest
    ) -> agent_pb2.AgentGetConfigListResponse:
        agent = await self._known_agent(request.agent_id)
        limits.count(request.config_versions, "config_versions", limits.MAX_HELD_CONFIGS)
        effective = self.state.catalog.effective_configs(agent.attributes.tags)
        response = agent_pb2.AgentGetConfigListResponse(
            response_id=request.request_id, code=ACCEPT, message="Get config update infos success"
        )
        infos = response.config_update_infos
        for update in config_updates(effective, request.config_versions):
            infos.add(
                config_name=update.name,
                update_status=update.status.value,
                config_version=update.version,
                content=update.content,
            )
        return response

    async def _known_agent(self, agent_id: str) -> Agent:
        """From memory; an agent registered through another server is looked up in the store."""
        agent = self.state.agents.get(agent_id)
        if agent is None:  # not validated yet: a known agent's id was checked when it registered
            agent = await self.state.load_agent(limits.name(agent_id, "agent_id"))
        if agent is None:
            raise errors.agent_not_found(agent_id)
        return agent
