"""The server's settings: what the command line and the environment decide. Imports nothing heavy, so that
the command can set up the process (workers, metrics) before the server's modules are loaded."""

from dataclasses import dataclass, field

from core.model import FleetPolicy
from pipeline.admission import DEFAULT_MAX_IN_FLIGHT


@dataclass(frozen=True)
class Settings:
    http_host: str = "127.0.0.1"
    http_port: int = 8899
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 8900
    v1_http_host: str = "127.0.0.1"
    v1_http_port: int | None = None
    ui: bool = True
    """Serve the web console at /ui/ on the main HTTP listener."""
    """The iLogtail (v1) listener; off (None) by default: its paths collide with the alpha protocol's."""
    store_url: str = "sqlite:///data/configserver.db"
    max_body_size: int = 4 * 1024 * 1024
    grace_period: float = 10.0
    request_timeout: float = 10.0
    """Seconds a request may wait for the store before it is answered RequestTimeout."""
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Requests of one API (User, Agent) in flight on one transport; more are shed with ServerBusy."""
    flush_interval: float = 1.0
    policy: FleetPolicy = field(default_factory=FleetPolicy)
    """When agents count as offline and expire; how many alarms are kept, and how long."""
    tls_cert: str | None = None
    """PEM certificate chain file: both listeners serve TLS (with `tls_key`)."""
    tls_key: str | None = None
    user_token: str | None = None
    agent_token: str | None = None
    allow_unauthenticated_user_api: bool = False
    workers: int = 1
    reuse_port: bool = False
    """Bind with SO_REUSEPORT, so that the workers of `--workers` share the ports."""
