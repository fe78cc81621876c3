"""The flags of the `configserver` command, each also set by its environment variable CONFIGSERVER_<FLAG>,
and the server's settings they make. Grouped by concern; --help lists them in this order."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from configserverd.settings import Settings
from core.model import FleetPolicy
from pipeline.auth import parse_user_tokens

USER_TOKEN = "CONFIGSERVER_USER_TOKEN"
"""The User API's tokens themselves, as a token file holds them; --user-token-file wins."""
AGENT_TOKEN = "CONFIGSERVER_AGENT_TOKEN"
"""The Agent API's token itself; --agent-token-file wins."""

Number = TypeVar("Number", int, float)


def listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 hosts in brackets: [::1]:8899); no HOST is every address (0.0.0.0)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class ListenAddress(click.ParamType[tuple[str, int] | None]):
    """A listener's HOST:PORT; where the listener is `optional`, empty turns it off (None)."""

    name = "HOST:PORT"

    def __init__(self, optional: bool = False) -> None:
        self.optional = optional

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, int] | None:
        if isinstance(value, tuple):
            return value
        if self.optional and not value:
            return None
        try:
            return listen_address(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def flag(name: str, text: str, show_default: bool | str = True, **options: Any) -> click.Option:
    """The flag `name`, which its environment variable CONFIGSERVER_<NAME> sets too (the flag wins);
    --help shows the variable and the default."""
    variable = "CONFIGSERVER_" + name.removeprefix("--").replace("-", "_").upper()
    return click.Option(
        [name], help=text, envvar=variable, show_envvar=True, show_default=show_default, **options
    )


def seconds(name: str, text: str, default: float) -> click.Option:
    """A flag of seconds, fractions allowed; --help shows its default as 60 or 7776000, not 60.0."""
    return flag(name, text, default=f"{default:.15g}", type=float, metavar="SECONDS")


DEFAULTS = Settings()
POLICY = DEFAULTS.policy

LISTENERS = (
    flag(
        "--http-listen",
        "HTTP address: the agent and User APIs, the console, probes and metrics",
        default=f"{DEFAULTS.http_host}:{DEFAULTS.http_port}",
        type=ListenAddress(),
    ),
    flag(
        "--grpc-listen",
        "gRPC address",
        default=f"{DEFAULTS.grpc_host}:{DEFAULTS.grpc_port}",
        type=ListenAddress(),
    ),
    flag(
        "--v1-http-listen",
        "HTTP address of the iLogtail (v1) agent protocol; its paths collide with the alpha protocol's, so "
        "it needs a port of its own (empty: off)",
        show_default="off",
        type=ListenAddress(optional=True),
    ),
    flag("--no-ui", "do not serve the web console at /ui/", is_flag=True),
)
STORE_AND_REQUESTS = (
    flag(
        "--store",
        "store URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB[?schema=NAME]",
        default=DEFAULTS.store_url,
        metavar="URL",
    ),
    flag(
        "--max-body-size",
        "largest HTTP request body in bytes, at most 64 MiB; larger ones get 413",
        default=DEFAULTS.max_body_size,
        metavar="BYTES",
    ),
    flag(
        "--max-in-flight",
        "requests of one API (User, Agent) in flight per transport; more get ServerBusy",
        default=DEFAULTS.max_in_flight,
        metavar="N",
    ),
    seconds(
        "--request-timeout",
        "seconds a request may wait for the store; then RequestTimeout",
        DEFAULTS.request_timeout,
    ),
)
SECURITY = (
    flag("--tls-cert", "PEM certificate chain file: both listeners serve TLS", metavar="PATH"),
    flag("--tls-key", "PEM private key file of --tls-cert", metavar="PATH"),
    flag(
        "--user-token-file",
        "file of User API tokens, one 'NAME ROLE TOKEN' per line, ROLE viewer (reads) or editor (all); "
        f"a single bare token is the editor 'user' (or that token in {USER_TOKEN})",
        metavar="PATH",
    ),
    flag(
        "--agent-token-file",
        f"file holding the bearer token the Agent API requires (or the token itself in {AGENT_TOKEN})",
        metavar="PATH",
    ),
    flag(
        "--allow-unauthenticated-user-api",
        "serve the User API beyond loopback without a token (something in front authenticates)",
        is_flag=True,
    ),
)
FLEET_POLICY = (
    seconds(
        "--agent-offline-after",
        "seconds without a heartbeat after which an agent is OFFLINE",
        POLICY.offline_after,
    ),
    seconds(
        "--agent-expire-after",
        "seconds without a heartbeat after which an agent is removed",
        POLICY.expire_after,
    ),
    flag(
        "--alarm-retention-count",
        "alarms kept per agent (the newest)",
        default=POLICY.alarm_retention_count,
        metavar="N",
    ),
    seconds("--alarm-retention-seconds", "seconds an alarm is kept", POLICY.alarm_retention_seconds),
    flag(
        "--history-retention",
        "revisions kept per config (the newest), also after it is deleted",
        default=POLICY.history_retention,
        metavar="N",
    ),
    seconds("--audit-retention-seconds", "seconds an audit event is kept", POLICY.audit_retention_seconds),
    flag(
        "--max-answer-size",
        "bytes of the largest GetConfigList answer a config write may cause; larger ones are refused",
        default=POLICY.max_answer_size,
        metavar="BYTES",
    ),
)
PROCESS = (
    flag("--workers", "server processes sharing the ports; 0 for one per core", default=1, metavar="N"),
    seconds(
        "--grace-period",
        "seconds calls in flight may take to finish at shutdown",
        DEFAULTS.grace_period,
    ),
    flag(
        "--log-level",
        "DEBUG, INFO, WARNING or ERROR, in any case",
        default="INFO",
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
        metavar="LEVEL",
    ),
)

OPTIONS = (*LISTENERS, *STORE_AND_REQUESTS, *SECURITY, *FLEET_POLICY, *PROCESS)


@dataclass(frozen=True)
class Flags:
    """Every flag of `configserver` as click parsed it: from the command line, else from its variable, else
    its default."""

    http_listen: tuple[str, int]
    grpc_listen: tuple[str, int]
    v1_http_listen: tuple[str, int] | None
    no_ui: bool
    store: str
    max_body_size: int
    max_in_flight: int
    request_timeout: float
    tls_cert: str | None
    tls_key: str | None
    user_token_file: str | None
    agent_token_file: str | None
    allow_unauthenticated_user_api: bool
    agent_offline_after: float
    agent_expire_after: float
    alarm_retention_count: int
    alarm_retention_seconds: float
    history_retention: int
    audit_retention_seconds: float
    max_answer_size: int
    workers: int
    grace_period: float
    log_level: str


def token(path: str | None, variable: str) -> str | None:
    """The token in the file at `path`, else in the environment variable, else None."""
    if path:
        text = Path(path).read_text().strip()
        if not text:
            raise ValueError(f"the token file {path} is empty")
        return text
    return os.environ.get(variable) or None


def settings_from(flags: Flags) -> Settings:
    """The server's settings the flags make. A token file that cannot be read or parsed, or a policy value
    not above 0, is an OSError or a ValueError (the command says "cannot start")."""
    user_token = token(flags.user_token_file, USER_TOKEN)
    if user_token is not None:
        parse_user_tokens(user_token, flags.user_token_file or USER_TOKEN)  # fail at start
    v1_host, v1_port = flags.v1_http_listen or (DEFAULTS.v1_http_host, None)
    return Settings(
        user_token=user_token,
        agent_token=token(flags.agent_token_file, AGENT_TOKEN),
        allow_unauthenticated_user_api=flags.allow_unauthenticated_user_api,
        tls_cert=flags.tls_cert or None,
        tls_key=flags.tls_key or None,
        http_host=flags.http_listen[0],
        http_port=flags.http_listen[1],
        grpc_host=flags.grpc_listen[0],
        grpc_port=flags.grpc_listen[1],
        v1_http_host=v1_host,
        v1_http_port=v1_port,
        store_url=flags.store,
        max_body_size=flags.max_body_size,
        grace_period=flags.grace_period,
        max_in_flight=flags.max_in_flight,
        ui=not flags.no_ui,
        request_timeout=flags.request_timeout,
        policy=policy_from(flags),
    )


def policy_from(flags: Flags) -> FleetPolicy:
    """How the fleet ages and what it keeps; ValueError for a value not above 0."""
    return FleetPolicy(
        offline_after=positive(flags.agent_offline_after, "--agent-offline-after"),
        expire_after=positive(flags.agent_expire_after, "--agent-expire-after"),
        alarm_retention_count=positive(flags.alarm_retention_count, "--alarm-retention-count"),
        alarm_retention_seconds=positive(flags.alarm_retention_seconds, "--alarm-retention-seconds"),
        history_retention=positive(flags.history_retention, "--history-retention"),
        audit_retention_seconds=positive(flags.audit_retention_seconds, "--audit-retention-seconds"),
        max_answer_size=positive(flags.max_answer_size, "--max-answer-size"),
    )


def positive(value: Number, name: str) -> Number:
    """`value`, which the flag `name` set, if it is above 0; else ValueError."""
    if value <= 0:
        raise ValueError(f"{name} must be above 0, got {value:g}")
    return value
