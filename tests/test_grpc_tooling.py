"""Standard gRPC tooling works: health checking and server reflection."""

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.support import ServerThread


def test_health_reports_serving_for_the_server_and_each_service(server: ServerThread) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "configserver.proto.UserService", "configserver.proto.AgentService"):
            answer = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, name


def test_reflection_lists_and_describes_the_services(server: ServerThread) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {
            "configserver.proto.UserService",
            "configserver.proto.AgentService",
            "grpc.health.v1.Health",
        } <= services
        file = database.FindFileContainingSymbol("configserver.proto.AgentService")
        methods = [m.name for s in file.service if s.name == "AgentService" for m in s.method]
        assert methods == ["HeartBeat", "RunningStatistics", "Alarm", "GetConfigList"]
