"""The server's settings: what the command line and the environment decide. Imports neither gRPC, Tornado
nor prometheus_client (the protobuf messages, yes: through `pipeline.admission`), so that the command can
set up the process (workers, metrics) before the server's modules load them."""

from dataclasses import dataclass, field

from core.model import FleetPolicy
from pipeline.admission import DEFAULT_MAX_IN_FLIGHT


@dataclass(frozen=True)
class Settings:
    http_host: str = "127.0.0.1"
    """Where the main HTTP listener binds: the agent and User APIs, the console, probes and metrics."""
    http_port: int = 8899
    """The main HTTP listener's port; 0 for any free one."""
    grpc_host: str = "127.0.0.1"
    """Where the gRPC listener binds."""
    grpc_port: int = 8900
    """The gRPC listener's port; 0 for any free one."""
    v1_http_host: str = "127.0.0.1"
    """Where the iLogtail (v1) listener binds, when it is on (`v1_http_port`)."""
    v1_http_port: int | None = None
    """The iLogtail (v1) listener's port; off (None) by default: its paths collide with the alpha
    protocol's, so it needs a port of its own."""
    ui: bool = True
    """Serve the web console at /ui/ on the main HTTP listener."""
    store_url: str = "sqlite:///data/configserver.db"
    """The store: sqlite:///PATH or postgresql://USER@HOST:PORT/DB[?schema=NAME]."""
    max_body_size: int = 4 * 1024 * 1024
    """The largest HTTP request body in bytes, at most 64 MiB; a larger one is answered 413."""
    grace_period: float = 10.0
    """Seconds calls in flight may take to finish at shutdown."""
    request_timeout: float = 10.0
    """Seconds a request may wait for the store before it is answered RequestTimeout."""
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Requests of one API (User, Agent) in flight on one transport; more are shed with ServerBusy."""
    flush_interval: float = 1.0
    """Seconds between two writes of the pending heartbeat batch, and between two probes of the store."""
    policy: FleetPolicy = field(default_factory=FleetPolicy)
    """How the fleet ages and what it keeps: when agents count as offline and expire, how many alarms and
    revisions are kept, how long alarms and audit events are, how large a GetConfigList answer may grow."""
    tls_cert: str | None = None
    """PEM certificate chain file: both listeners serve TLS (with `tls_key`)."""
    tls_key: str | None = None
    """PEM private key file of `tls_cert`."""
    user_token: str | None = None
    """The User API's tokens, as a token file holds them (`NAME ROLE TOKEN` lines, or one bare token).
    None: no token, and the server refuses to start with the User API beyond loopback unless
    `allow_unauthenticated_user_api`."""
    agent_token: str | None = None
    """The bearer token the Agent API requires; None: the Agent API asks for none."""
    allow_unauthenticated_user_api: bool = False
    """Serve the User API beyond loopback without a token (something in front authenticates)."""
    workers: int = 1
    """How many server processes share the ports: `run_workers` sets it in the settings each worker gets."""
    reuse_port: bool = False
    """Bind with SO_REUSEPORT, so that the workers of `--workers` share the ports."""
