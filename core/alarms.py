"""Alarms waiting for the next batch: bounded, so that an agent flooding alarms cannot grow memory.

Each agent keeps at most `per_agent` pending alarms (its oldest are dropped first: the store would drop
them anyway, it keeps the newest `per_agent`), and the buffer at most `total`; beyond that new alarms are
dropped and counted. Both transports' threads add; the store thread takes.
"""

import threading
from collections import deque
from collections.abc import Iterable

from core.model import Alarm

MAX_PENDING = 100_000
"""Alarms waiting for one batch, whatever the number of agents."""


class AlarmBuffer:
    def __init__(self, per_agent: int, total: int = MAX_PENDING) -> None:
        self._per_agent = per_agent
        self._total = total
        self._pending: dict[str, deque[tuple[int, Alarm]]] = {}
        self._count = 0
        self._received = 0  # numbers alarms in the order they came, across agents
        self.dropped = 0
        """Alarms dropped because the buffer was full (since start)."""
        self._lock = threading.Lock()

    def add(self, alarm: Alarm) -> None:
        with self._lock:
            queue = self._pending.get(alarm.agent_id)
            if queue is None:
                queue = self._pending[alarm.agent_id] = deque(maxlen=self._per_agent)
            if len(queue) == self._per_agent:
                self._count -= 1  # the oldest of this agent's makes room
            elif self._count >= self._total:
                self.dropped += 1
                return
            self._received += 1
            queue.append((self._received, alarm))
            self._count += 1

    def take(self) -> list[Alarm]:
        """Every pending alarm, in the order they came (the store numbers them in that order)."""
        with self._lock:
            pending, self._pending, self._count = self._pending, {}, 0
        return [alarm for _, alarm in sorted(entry for queue in pending.values() for entry in queue)]

    def put_back(self, alarms: Iterable[Alarm]) -> None:
        """What a failed batch did not write, for the next one (still within the bounds)."""
        for alarm in alarms:
            self.add(alarm)

    def drop_agent(self, agent_id: str) -> None:
        with self._lock:
            queue = self._pending.pop(agent_id, None)
            if queue is not None:
                self._count -= len(queue)
