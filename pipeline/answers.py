"""What an RPC answers: its response message, or the same message encoded once (`Encoded`).

A protobuf message on the wire is its fields in order, each a tag and a value, and its serializer writes
them by field number. The agents' hot answers echo the request's id in field 1 (alpha `response_id`, v2
`request_id`) and fill the rest from the agent's state: a heartbeat of a known agent always answers the same,
a config list answers the same to every agent holding the same versions of the same configs. So a façade
keeps the bytes after field 1 per state (`EncodedTails`), and its answer is an `Encoded`: field 1 followed
by them, the same bytes `SerializeToString` writes, without building and serializing a message per request.

Both transports write an answer with `wire_bytes`, and decode it with `as_message` for a wire format other
than protobuf's (HTTP JSON).
"""

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeAlias, TypeVar

from google.protobuf.message import Message

M = TypeVar("M", bound=Message)

MAX_TAIL_BYTES = 64 * 1024 * 1024
"""Answer bytes one kind of answer keeps; past it, it starts again (agents in the field share few states: a
flood of distinct ones costs encoding them, never memory)."""


def _field_1(value: bytes) -> bytes:
    """Field 1 as a length-delimited value (string or bytes), as protobuf writes it: absent when empty."""
    if not value:
        return b""
    size = len(value)
    length = bytearray()
    while size > 0x7F:
        length.append(size & 0x7F | 0x80)
        size >>= 7
    length.append(size)
    return b"\x0a" + bytes(length) + value


class Encoded(Generic[M]):
    """An answer of type M as protobuf bytes: its field 1 (the echoed id), then the rest, encoded once."""

    __slots__ = ("message_class", "wire")

    def __init__(self, message_class: type[M], echoed: str | bytes, tail: bytes) -> None:
        self.message_class = message_class
        self.wire = _field_1(echoed.encode() if isinstance(echoed, str) else echoed) + tail

    def decoded(self) -> M:
        return self.message_class.FromString(self.wire)


Answer: TypeAlias = M | Encoded[M]
"""An RPC's answer of response type M."""
AnyAnswer: TypeAlias = Message | Encoded[Any]
"""Any RPC's answer."""


def wire_bytes(answer: AnyAnswer) -> bytes:
    """An answer as protobuf bytes."""
    return answer.wire if isinstance(answer, Encoded) else answer.SerializeToString()


def as_message(answer: AnyAnswer) -> Message:
    """An answer as a message, for a wire format other than protobuf's."""
    return answer.decoded() if isinstance(answer, Encoded) else answer


class EncodedTails:
    """One kind of answer's bytes after field 1, per state: `encode` builds the answer without its id the
    first time a state is seen. Bounded by MAX_TAIL_BYTES."""

    def __init__(self) -> None:
        self._tails: dict[Hashable, bytes] = {}
        self._size = 0

    def get(self, state: Hashable, encode: Callable[[], Message]) -> bytes:
        tail = self._tails.get(state)
        if tail is None:
            tail = encode().SerializeToString()
            if self._size + len(tail) > MAX_TAIL_BYTES:
                self._tails.clear()
                self._size = 0
            self._tails[state] = tail
            self._size += len(tail)
        return tail
