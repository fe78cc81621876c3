"""The `configserver` command: flags (each also an environment variable), logging, signals."""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

from configserverd.loop import new_event_loop
from configserverd.settings import Settings
from configserverd.workers import run_workers
from core.model import FleetPolicy
from pipeline.auth import parse_user_tokens

log = logging.getLogger(__name__)

_STANDARD_RECORD_KEYS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (RFC 3339, UTC, milliseconds), level, logger, event, and the record's
    `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD_KEYS})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 hosts in brackets: [::1]:8899)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _option(parser: argparse.ArgumentParser, flag: str, default: object, text: str, **options: Any) -> None:
    """A flag that the environment variable CONFIGSERVER_<FLAG> sets too (the flag wins)."""
    variable = "CONFIGSERVER_" + flag.removeprefix("--").replace("-", "_").upper()
    shown = "%(default)s" if default not in ("", None) else "none"
    if options.get("action") == "store_true":
        value: object = os.environ.get(variable, "") in ("1", "true", "yes")
        text = f"{text} ({variable}=1)"
    else:
        value = os.environ.get(variable, default)  # a string default goes through `type` like the flag
        text = f"{text} ({variable}; default {shown})"
    parser.add_argument(flag, default=value, help=text, **options)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="configserver",
        description="ConfigServer for observability agents: HTTP and gRPC on one core. "
        "Every flag can also be set by the environment variable named in its help.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('configserver')}")
    option = partial(_option, parser)
    option(
        "--http-listen",
        f"{defaults.http_host}:{defaults.http_port}",
        "HTTP address, HOST:PORT",
        type=listen_address,
    )
    option(
        "--grpc-listen",
        f"{defaults.grpc_host}:{defaults.grpc_port}",
        "gRPC address, HOST:PORT",
        type=listen_address,
    )
    option(
        "--v1-http-listen",
        "",
        "HTTP address of the iLogtail (v1) agent protocol, HOST:PORT; off by default (its paths collide "
        "with the alpha protocol's, so it needs a port of its own)",
        type=lambda text: listen_address(text) if text else None,
    )
    option(
        "--store",
        defaults.store_url,
        "store URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB[?schema=NAME]",
    )
    option("--log-level", "INFO", "log level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper)
    option(
        "--max-body-size",
        str(defaults.max_body_size),
        "largest HTTP request body in bytes, at most 64 MiB; larger ones get 413",
        type=int,
    )
    option("--tls-cert", "", "PEM certificate chain file: both listeners serve TLS", metavar="PATH")
    option("--tls-key", "", "PEM private key file of --tls-cert", metavar="PATH")
    option(
        "--user-token-file",
        "",
        "file of User API tokens, one 'NAME ROLE TOKEN' per line, ROLE viewer (reads) or editor (all); "
        "a single bare token is the editor 'user' (or that token in CONFIGSERVER_USER_TOKEN)",
        metavar="PATH",
    )
    option(
        "--agent-token-file",
        "",
        "file holding the bearer token the Agent API requires (or the token itself in "
        "CONFIGSERVER_AGENT_TOKEN)",
        metavar="PATH",
    )
    option(
        "--allow-unauthenticated-user-api",
        False,
        "serve the User API beyond loopback without a token (something in front authenticates)",
        action="store_true",
    )
    option("--no-ui", False, "do not serve the web console at /ui/", action="store_true")
    option(
        "--max-in-flight",
        str(defaults.max_in_flight),
        "requests of one API (User, Agent) in flight per transport; more get ServerBusy",
        type=int,
    )
    option(
        "--request-timeout",
        str(defaults.request_timeout),
        "seconds a request may wait for the store; then RequestTimeout",
        type=float,
    )
    policy = defaults.policy
    option(
        "--agent-offline-after",
        f"{policy.offline_after:g}",
        "seconds without a heartbeat after which an agent is OFFLINE",
        type=float,
    )
    option(
        "--agent-expire-after",
        f"{policy.expire_after:g}",
        "seconds without a heartbeat after which an agent is removed",
        type=float,
    )
    option(
        "--alarm-retention-count",
        str(policy.alarm_retention_count),
        "alarms kept per agent (the newest)",
        type=int,
    )
    option(
        "--alarm-retention-seconds",
        f"{policy.alarm_retention_seconds:g}",
        "seconds an alarm is kept",
        type=float,
    )
    option(
        "--history-retention",
        str(policy.history_retention),
        "revisions kept per config (the newest), also after it is deleted",
        type=int,
    )
    option(
        "--audit-retention-seconds",
        f"{policy.audit_retention_seconds:g}",
        "seconds an audit event is kept",
        type=float,
    )
    option(
        "--max-answer-size",
        str(policy.max_answer_size),
        "bytes of the largest GetConfigList answer a config write may cause; larger ones are refused",
        type=int,
    )
    option("--workers", "1", "server processes sharing the ports; 0 for one per core", type=int)
    option(
        "--grace-period",
        str(defaults.grace_period),
        "seconds calls in flight may take to finish at shutdown",
        type=float,
    )
    return parser.parse_args(argv)


def token(path: str, variable: str) -> str | None:
    """The token in the file at `path`, else in the environment variable, else None."""
    if path:
        text = Path(path).read_text().strip()
        if not text:
            raise ValueError(f"the token file {path} is empty")
        return text
    return os.environ.get(variable) or None


def settings_from(args: argparse.Namespace) -> Settings:
    user_token = token(args.user_token_file, "CONFIGSERVER_USER_TOKEN")
    if user_token is not None:
        parse_user_tokens(user_token, args.user_token_file or "CONFIGSERVER_USER_TOKEN")  # fail at start
    return Settings(
        user_token=user_token,
        agent_token=token(args.agent_token_file, "CONFIGSERVER_AGENT_TOKEN"),
        allow_unauthenticated_user_api=args.allow_unauthenticated_user_api,
        tls_cert=args.tls_cert or None,
        tls_key=args.tls_key or None,
        http_host=args.http_listen[0],
        http_port=args.http_listen[1],
        grpc_host=args.grpc_listen[0],
        grpc_port=args.grpc_listen[1],
        v1_http_host=args.v1_http_listen[0] if args.v1_http_listen else "127.0.0.1",
        v1_http_port=args.v1_http_listen[1] if args.v1_http_listen else None,
        store_url=args.store,
        max_body_size=args.max_body_size,
        grace_period=args.grace_period,
        max_in_flight=args.max_in_flight,
        ui=not args.no_ui,
        request_timeout=args.request_timeout,
        policy=FleetPolicy(
            offline_after=positive(args.agent_offline_after, "--agent-offline-after"),
            expire_after=positive(args.agent_expire_after, "--agent-expire-after"),
            alarm_retention_count=int(positive(args.alarm_retention_count, "--alarm-retention-count")),
            alarm_retention_seconds=positive(args.alarm_retention_seconds, "--alarm-retention-seconds"),
            history_retention=int(positive(args.history_retention, "--history-retention")),
            audit_retention_seconds=positive(args.audit_retention_seconds, "--audit-retention-seconds"),
            max_answer_size=int(positive(args.max_answer_size, "--max-answer-size")),
        ),
    )


def positive(value: float, flag: str) -> float:
    if value <= 0:
        raise ValueError(f"{flag} must be above 0, got {value:g}")
    return value


class Signals:
    """SIGTERM and SIGINT: the first asks for a clean stop, a second one exits at once."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._received, signum)

    def _received(self, signum: int) -> None:
        if self.stop.is_set():
            log.warning("second signal: exiting at once", extra={"signal": signal.Signals(signum).name})
            logging.shutdown()
            os._exit(1)
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        self.stop.set()


async def serve(settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT, then stop cleanly (exit code 0); or until a part of the server
    cannot go on, then stop and exit 1 (the failure is logged with its traceback where it happened)."""
    signals = Signals()
    from configserverd.app import ConfigServer  # after the process is set up (workers, metrics)

    server = ConfigServer(settings)
    try:
        await server.__aenter__()
    except Exception as error:
        log.error("cannot start", extra={"error": str(error)})
        return 1
    try:
        crashed = asyncio.create_task(server.crashed())
        stopped = asyncio.create_task(signals.stop.wait())
        await asyncio.wait((crashed, stopped), return_when=asyncio.FIRST_COMPLETED)
        code = 1 if crashed.done() else 0
        crashed.cancel()
        stopped.cancel()
    finally:
        await server.stop()
    return code


def run_server(settings: Settings) -> int:
    """Serve in this process; the exit code. An exception while serving is a crash: logged with its
    traceback, exit code 1. The loop is uvloop's (`configserverd.loop`)."""
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            return runner.run(serve(settings))
    except Exception:
        log.exception("crashed")
        return 1


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=args.log_level, handlers=[handler])
    logging.getLogger("yoyo").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        settings = settings_from(args)
    except (OSError, ValueError) as error:
        log.error("cannot start", extra={"error": str(error)})
        raise SystemExit(1) from None
    workers = args.workers or os.cpu_count() or 1
    if workers == 1:
        raise SystemExit(run_server(settings))
    with tempfile.TemporaryDirectory(prefix="configserver-metrics-") as metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics  # before any worker loads prometheus_client
        try:
            code = run_workers(settings, workers, run_server)
        except Exception as error:
            log.error("cannot start", extra={"error": str(error)})
            code = 1
    raise SystemExit(code)
