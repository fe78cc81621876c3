"""The gRPC service (grpc.aio): the same RPCs as the HTTP gateway, over the same core."""
