"""The core's runtime, in parts, each an async context manager composed by the root (see
`configserverd.app` for the order): the store worker, the change feed, the store health probe and the
heartbeat batcher."""
