"""Calls on the fleet domain as the façades make them, for tests that run the domain without transports."""

from collections.abc import Mapping

from configserverd.app import Runtime
from core.model import Caller, ConfigKind
from core.versions import ConfigUpdate, config_updates

AGENT = Caller("agent")
"""The caller of an agent's call without a deadline of its own."""
OPERATOR = Caller("operator")


async def fetch(runtime: Runtime, agent_id: str, held: Mapping[str, int]) -> tuple[ConfigUpdate, ...]:
    """An alpha GetConfigList: what the agent must change, given the versions it holds (recorded)."""
    sessions = runtime.sessions
    agent = await sessions.known(agent_id, AGENT)
    effective = sessions.configs(agent, ConfigKind.PIPELINE)
    sessions.record(agent, effective, held)
    return config_updates(effective, held)
