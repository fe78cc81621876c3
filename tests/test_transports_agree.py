"""One core behind both transports: what one writes, the other reads at once."""

from tests.support import GrpcClient, HttpClient, expect, make


def test_writes_on_one_transport_are_read_on_the_other(http: HttpClient, grpc_client: GrpcClient) -> None:
    expect(
        http.call("CreateConfig", make("CreateConfig", config_detail={"config_name": "c", "content": "h"})),
        "Accept",
    )
    assert (
        expect(
            grpc_client.call("GetConfig", make("GetConfig", config_name="c")), "Accept"
        ).config_detail.content
        == "h"
    )
    expect(
        grpc_client.call(
            "ApplyConfigToAgentGroup", make("ApplyConfigToAgentGroup", group_name="default", config_name="c")
        ),
        "Accept",
    )
    expect(grpc_client.call("HeartBeat", make("HeartBeat", agent_id="a")), "Accept")
    infos = expect(
        http.call("GetConfigList", make("GetConfigList", agent_id="a")), "Accept"
    ).config_update_infos
    assert [(i.config_name, i.content) for i in infos] == [("c", "h")]
    expect(
        http.call("UpdateConfig", make("UpdateConfig", config_detail={"config_name": "c", "content": "h2"})),
        "Accept",
    )
    infos = expect(
        grpc_client.call("GetConfigList", make("GetConfigList", agent_id="a", config_versions={"c": 0})),
        "Accept",
    ).config_update_infos
    assert [(i.config_name, i.config_version, i.content) for i in infos] == [("c", 1, "h2")]
