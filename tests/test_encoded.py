"""Answers encoded once are byte for byte what serializing the whole message gives, for every id."""

from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from configserver.proto import agent_pb2
from configserver.proto.v2 import agent_v2_pb2 as v2
from pipeline import answers as encoded
from pipeline.answers import Encoded, EncodedTails

INFOS = st.lists(
    st.builds(
        agent_pb2.ConfigUpdateInfo,
        config_name=st.text(max_size=40),
        update_status=st.sampled_from([0, 1, 2, 3]),
        config_version=st.integers(0, 2**62),
        content=st.text(max_size=300),
    ),
    max_size=5,
)


@given(response_id=st.text(max_size=300), infos=INFOS)
def test_an_alpha_answer_is_its_message_serialized(
    response_id: str, infos: list[agent_pb2.ConfigUpdateInfo]
) -> None:
    whole = agent_pb2.AgentGetConfigListResponse(
        response_id=response_id, code="Accept", message="ok", config_update_infos=infos
    )
    tail = agent_pb2.AgentGetConfigListResponse(code="Accept", message="ok", config_update_infos=infos)
    answer = Encoded(agent_pb2.AgentGetConfigListResponse, response_id, tail.SerializeToString())
    assert answer.wire == whole.SerializeToString()
    assert answer.decoded() == whole


@given(request_id=st.binary(max_size=20_000), flags=st.integers(0, 7))
def test_a_v2_answer_is_its_message_serialized(request_id: bytes, flags: int) -> None:
    tail = v2.HeartbeatResponse(common_response=v2.CommonResponse(status=0), capabilities=7, flags=flags)
    whole = v2.HeartbeatResponse(request_id=request_id)
    whole.MergeFrom(tail)
    answer = Encoded(v2.HeartbeatResponse, request_id, tail.SerializeToString())
    assert answer.wire == whole.SerializeToString()


def test_each_state_is_encoded_once() -> None:
    tails = EncodedTails()
    built: list[str] = []

    def build(state: str) -> agent_pb2.HeartBeatResponse:
        built.append(state)
        return agent_pb2.HeartBeatResponse(code="Accept", message=state)

    for state in ["a", "b", "a", "a", "b"]:
        tail = tails.get(state, partial(build, state))
        assert agent_pb2.HeartBeatResponse.FromString(tail).message == state
    assert built == ["a", "b"]


def test_what_is_kept_is_bounded_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoded, "MAX_TAIL_BYTES", 1000)
    tails = EncodedTails()
    built: list[int] = []

    def build(state: int) -> agent_pb2.HeartBeatResponse:
        built.append(state)
        return agent_pb2.HeartBeatResponse(message="x" * 300)

    for state in range(10):
        tails.get(state, partial(build, state))
    tails.get(0, lambda: build(0))  # forgotten: more than 1,000 bytes came after it
    tails.get(9, lambda: build(9))  # kept
    assert built == [*range(10), 0]
