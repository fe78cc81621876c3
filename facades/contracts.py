"""What each protocol façade must implement: one method per RPC of its services, request message in,
response message out.

These Protocols mirror the service descriptors of `proto/` (`tests/test_generated.py` checks that every RPC
of every service is here, with its request and response types, and nothing else), and the root binds a
façade to the RPC table through `alpha_handlers`, `v2_handlers` and `v1_handlers`, which mypy checks
against them: a façade missing an RPC, or taking the wrong message, does not type-check. Each façade also
says how its protocol answers a refusal over HTTP (an `ErrorAnswer`): agents of each generation decode
their own response messages, errors included.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from google.protobuf.message import Message

from configserver.proto import agent_pb2, user_pb2
from configserver.proto.v1 import agent_v1_pb2 as v1
from configserver.proto.v2 import agent_v2_pb2 as v2
from core.errors import ServiceError
from core.model import Caller
from facades.encoded import Encoded

Answer = Message | Encoded[Any]
"""What an RPC answers: its response message, or the same encoded once (`facades.encoded`)."""
Handler = Callable[[Any, Caller], Awaitable[Answer]]
"""One RPC's implementation: its request message and its caller in, its response message out."""


class AlphaUserService(Protocol):
    """`configserver.proto.UserService`."""

    async def CreateAgentGroup(
        self, request: user_pb2.CreateAgentGroupRequest, caller: Caller
    ) -> user_pb2.CreateAgentGroupResponse: ...

    async def UpdateAgentGroup(
        self, request: user_pb2.UpdateAgentGroupRequest, caller: Caller
    ) -> user_pb2.UpdateAgentGroupResponse: ...

    async def DeleteAgentGroup(
        self, request: user_pb2.DeleteAgentGroupRequest, caller: Caller
    ) -> user_pb2.DeleteAgentGroupResponse: ...

    async def GetAgentGroup(
        self, request: user_pb2.GetAgentGroupRequest, caller: Caller
    ) -> user_pb2.GetAgentGroupResponse: ...

    async def ListAgentGroups(
        self, request: user_pb2.ListAgentGroupsRequest, caller: Caller
    ) -> user_pb2.ListAgentGroupsResponse: ...

    async def CreateConfig(
        self, request: user_pb2.CreateConfigRequest, caller: Caller
    ) -> user_pb2.CreateConfigResponse: ...

    async def UpdateConfig(
        self, request: user_pb2.UpdateConfigRequest, caller: Caller
    ) -> user_pb2.UpdateConfigResponse: ...

    async def DeleteConfig(
        self, request: user_pb2.DeleteConfigRequest, caller: Caller
    ) -> user_pb2.DeleteConfigResponse: ...

    async def GetConfig(
        self, request: user_pb2.GetConfigRequest, caller: Caller
    ) -> user_pb2.GetConfigResponse: ...

    async def ListConfigs(
        self, request: user_pb2.ListConfigsRequest, caller: Caller
    ) -> user_pb2.ListConfigsResponse: ...

    async def ApplyConfigToAgentGroup(
        self, request: user_pb2.ApplyConfigToAgentGroupRequest, caller: Caller
    ) -> user_pb2.ApplyConfigToAgentGroupResponse: ...

    async def RemoveConfigFromAgentGroup(
        self, request: user_pb2.RemoveConfigFromAgentGroupRequest, caller: Caller
    ) -> user_pb2.RemoveConfigFromAgentGroupResponse: ...

    async def GetAppliedConfigsForAgentGroup(
        self, request: user_pb2.GetAppliedConfigsForAgentGroupRequest, caller: Caller
    ) -> user_pb2.GetAppliedConfigsForAgentGroupResponse: ...

    async def GetAppliedAgentGroups(
        self, request: user_pb2.GetAppliedAgentGroupsRequest, caller: Caller
    ) -> user_pb2.GetAppliedAgentGroupsResponse: ...

    async def ListAgents(
        self, request: user_pb2.ListAgentsRequest, caller: Caller
    ) -> user_pb2.ListAgentsResponse: ...

    async def DeleteAgent(
        self, request: user_pb2.DeleteAgentRequest, caller: Caller
    ) -> user_pb2.DeleteAgentResponse: ...

    async def GetConfigStatus(
        self, request: user_pb2.GetConfigStatusRequest, caller: Caller
    ) -> user_pb2.GetConfigStatusResponse: ...

    async def ListAlarms(
        self, request: user_pb2.ListAlarmsRequest, caller: Caller
    ) -> user_pb2.ListAlarmsResponse: ...

    async def ListConfigHistory(
        self, request: user_pb2.ListConfigHistoryRequest, caller: Caller
    ) -> user_pb2.ListConfigHistoryResponse: ...

    async def RollbackConfig(
        self, request: user_pb2.RollbackConfigRequest, caller: Caller
    ) -> user_pb2.RollbackConfigResponse: ...

    async def ListAuditEvents(
        self, request: user_pb2.ListAuditEventsRequest, caller: Caller
    ) -> user_pb2.ListAuditEventsResponse: ...

    async def WhoAmI(self, request: user_pb2.WhoAmIRequest, caller: Caller) -> user_pb2.WhoAmIResponse: ...

    async def PreviewAgentGroup(
        self, request: user_pb2.PreviewAgentGroupRequest, caller: Caller
    ) -> user_pb2.PreviewAgentGroupResponse: ...

    async def GetFleetSummary(
        self, request: user_pb2.GetFleetSummaryRequest, caller: Caller
    ) -> user_pb2.GetFleetSummaryResponse: ...


class AlphaAgentService(Protocol):
    """`configserver.proto.AgentService`."""

    async def HeartBeat(
        self, request: agent_pb2.HeartBeatRequest, caller: Caller
    ) -> Encoded[agent_pb2.HeartBeatResponse]: ...

    async def RunningStatistics(
        self, request: agent_pb2.RunningStatisticsRequest, caller: Caller
    ) -> agent_pb2.RunningStatisticsResponse: ...

    async def Alarm(self, request: agent_pb2.AlarmRequest, caller: Caller) -> agent_pb2.AlarmResponse: ...

    async def GetConfigList(
        self, request: agent_pb2.AgentGetConfigListRequest, caller: Caller
    ) -> Encoded[agent_pb2.AgentGetConfigListResponse]: ...


class V2AgentService(Protocol):
    """`configserver.proto.AgentServiceV2`: LoongCollector."""

    async def Heartbeat(
        self, request: v2.HeartbeatRequest, caller: Caller
    ) -> Encoded[v2.HeartbeatResponse]: ...

    async def FetchPipelineConfig(
        self, request: v2.FetchConfigRequest, caller: Caller
    ) -> v2.FetchConfigResponse: ...

    async def FetchInstanceConfig(
        self, request: v2.FetchConfigRequest, caller: Caller
    ) -> v2.FetchConfigResponse: ...


class V1AgentService(Protocol):
    """`configserver.proto.AgentServiceV1`: iLogtail."""

    async def HeartBeat(self, request: v1.HeartBeatRequest, caller: Caller) -> v1.HeartBeatResponse: ...

    async def FetchPipelineConfig(
        self, request: v1.FetchPipelineConfigRequest, caller: Caller
    ) -> v1.FetchPipelineConfigResponse: ...

    async def FetchAgentConfig(
        self, request: v1.FetchAgentConfigRequest, caller: Caller
    ) -> v1.FetchAgentConfigResponse: ...


SERVICES = {
    "configserver.proto.UserService": AlphaUserService,
    "configserver.proto.AgentService": AlphaAgentService,
    "configserver.proto.AgentServiceV2": V2AgentService,
    "configserver.proto.AgentServiceV1": V1AgentService,
}
"""The Protocol of each gRPC service, by its full name."""

ErrorAnswer = Callable[[type[Message], object, ServiceError], Message]
"""How a service answers a refusal over HTTP: its response class, the request's id (None when the request
could not be read) and the refusal in, the response message out."""


def alpha_error(response: type[Message], request_id: object, error: ServiceError) -> Message:
    """The alpha protocol's refusal: the response with `response_id` echoed, `code` and `message`."""
    echoed = request_id if isinstance(request_id, str) else ""
    return response(response_id=echoed, code=error.code.value, message=error.message)


def alpha_handlers(user: AlphaUserService, agent: AlphaAgentService) -> dict[str, Handler]:
    """Every alpha RPC's implementation, by its gRPC path."""
    return {
        "/configserver.proto.UserService/CreateAgentGroup": user.CreateAgentGroup,
        "/configserver.proto.UserService/UpdateAgentGroup": user.UpdateAgentGroup,
        "/configserver.proto.UserService/DeleteAgentGroup": user.DeleteAgentGroup,
        "/configserver.proto.UserService/GetAgentGroup": user.GetAgentGroup,
        "/configserver.proto.UserService/ListAgentGroups": user.ListAgentGroups,
        "/configserver.proto.UserService/CreateConfig": user.CreateConfig,
        "/configserver.proto.UserService/UpdateConfig": user.UpdateConfig,
        "/configserver.proto.UserService/DeleteConfig": user.DeleteConfig,
        "/configserver.proto.UserService/GetConfig": user.GetConfig,
        "/configserver.proto.UserService/ListConfigs": user.ListConfigs,
        "/configserver.proto.UserService/ApplyConfigToAgentGroup": user.ApplyConfigToAgentGroup,
        "/configserver.proto.UserService/RemoveConfigFromAgentGroup": user.RemoveConfigFromAgentGroup,
        "/configserver.proto.UserService/GetAppliedConfigsForAgentGroup": user.GetAppliedConfigsForAgentGroup,
        "/configserver.proto.UserService/GetAppliedAgentGroups": user.GetAppliedAgentGroups,
        "/configserver.proto.UserService/ListAgents": user.ListAgents,
        "/configserver.proto.UserService/DeleteAgent": user.DeleteAgent,
        "/configserver.proto.UserService/GetConfigStatus": user.GetConfigStatus,
        "/configserver.proto.UserService/ListAlarms": user.ListAlarms,
        "/configserver.proto.UserService/ListConfigHistory": user.ListConfigHistory,
        "/configserver.proto.UserService/RollbackConfig": user.RollbackConfig,
        "/configserver.proto.UserService/ListAuditEvents": user.ListAuditEvents,
        "/configserver.proto.UserService/WhoAmI": user.WhoAmI,
        "/configserver.proto.UserService/PreviewAgentGroup": user.PreviewAgentGroup,
        "/configserver.proto.UserService/GetFleetSummary": user.GetFleetSummary,
        "/configserver.proto.AgentService/HeartBeat": agent.HeartBeat,
        "/configserver.proto.AgentService/RunningStatistics": agent.RunningStatistics,
        "/configserver.proto.AgentService/Alarm": agent.Alarm,
        "/configserver.proto.AgentService/GetConfigList": agent.GetConfigList,
    }


def v2_handlers(agent: V2AgentService) -> dict[str, Handler]:
    return {
        "/configserver.proto.AgentServiceV2/Heartbeat": agent.Heartbeat,
        "/configserver.proto.AgentServiceV2/FetchPipelineConfig": agent.FetchPipelineConfig,
        "/configserver.proto.AgentServiceV2/FetchInstanceConfig": agent.FetchInstanceConfig,
    }


def v1_handlers(agent: V1AgentService) -> dict[str, Handler]:
    return {
        "/configserver.proto.AgentServiceV1/HeartBeat": agent.HeartBeat,
        "/configserver.proto.AgentServiceV1/FetchPipelineConfig": agent.FetchPipelineConfig,
        "/configserver.proto.AgentServiceV1/FetchAgentConfig": agent.FetchAgentConfig,
    }
