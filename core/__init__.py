"""The domain of the ConfigServer: agent groups, configs, agents, version deltas, errors and the store.

Nothing here imports a transport: the HTTP gateway and the gRPC service both call `ConfigService`.
"""
