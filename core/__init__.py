"""The domain of the ConfigServer: agent groups, configs, agents, their rules, version deltas, errors, the
memory it serves from, the runtime that keeps memory and store in step, and the store.

Its callers reach it through three rooms, one per caller: `core.sessions` (agents), `core.commands`
(operators' writes) and `core.queries` (operators' reads). Nothing here imports a transport or a wire format.
"""
