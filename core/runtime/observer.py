"""What the runtime reports for monitoring, without knowing how it is exported (`pipeline.metrics` does)."""

from typing import Protocol


class Observer(Protocol):
    def store_time(self, operation: str, seconds: float) -> None:
        """Time of one piece of work on the store thread: `request`, `heartbeat_batch`, `probe`, …"""

    def fleet_size(self, known: int, seen_last_minute: int, online: int) -> None:
        """Agents in memory, those whose last heartbeat is under a minute old, and those online."""

    def alarm(self, kind: str) -> None:
        """An agent sent an alarm of this type."""

    def dropped(self, what: str, count: int) -> None:
        """A bounded buffer dropped `count` items of `what` (`alarm`, `audit_event`) since the last report."""


class NoObserver:
    def store_time(self, operation: str, seconds: float) -> None:
        pass

    def fleet_size(self, known: int, seen_last_minute: int, online: int) -> None:
        pass

    def alarm(self, kind: str) -> None:
        pass

    def dropped(self, what: str, count: int) -> None:
        pass
