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
from pathlib import Path

from settings import Settings
from workers import run_workers

_STANDARD_RECORD_KEYS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and the record's `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
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


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CONFIGSERVER_{name}", default)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="configserver",
        description="ConfigServer for observability agents: HTTP and gRPC on one core. "
        "Every flag can also be set by the environment variable named in its help.",
    )
    parser.add_argument(
        "--http-listen",
        type=listen_address,
        default=_env("HTTP_LISTEN", f"{defaults.http_host}:{defaults.http_port}"),
        help="HTTP address, HOST:PORT (CONFIGSERVER_HTTP_LISTEN; default %(default)s)",
    )
    parser.add_argument(
        "--grpc-listen",
        type=listen_address,
        default=_env("GRPC_LISTEN", f"{defaults.grpc_host}:{defaults.grpc_port}"),
        help="gRPC address, HOST:PORT (CONFIGSERVER_GRPC_LISTEN; default %(default)s)",
    )
    parser.add_argument(
        "--store",
        default=_env("STORE", defaults.store_url),
        help="store URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB[?schema=NAME] "
        "(CONFIGSERVER_STORE; default %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="(CONFIGSERVER_LOG_LEVEL; default %(default)s)",
    )
    parser.add_argument(
        "--max-body-size",
        type=int,
        default=int(_env("MAX_BODY_SIZE", str(defaults.max_body_size))),
        help="largest HTTP request body in bytes, at most 64 MiB; larger ones get 413 "
        "(CONFIGSERVER_MAX_BODY_SIZE; default %(default)s)",
    )
    for part, variable in (("cert", "TLS_CERT"), ("key", "TLS_KEY")):
        parser.add_argument(
            f"--tls-{part}",
            metavar="PATH",
            default=_env(variable, ""),
            help=f"PEM {'certificate chain' if part == 'cert' else 'private key'} file: both listeners "
            f"serve TLS (CONFIGSERVER_{variable}; default: plaintext)",
        )
    for api in ("user", "agent"):
        parser.add_argument(
            f"--{api}-token-file",
            metavar="PATH",
            default=_env(f"{api.upper()}_TOKEN_FILE", ""),
            help=f"file holding the bearer token the {api.title()} API requires; or set the token itself in "
            f"CONFIGSERVER_{api.upper()}_TOKEN (CONFIGSERVER_{api.upper()}_TOKEN_FILE; default: no token)",
        )
    parser.add_argument(
        "--allow-unauthenticated-user-api",
        action="store_true",
        default=_env("ALLOW_UNAUTHENTICATED_USER_API", "") in ("1", "true", "yes"),
        help="serve the User API beyond loopback without a token (something in front authenticates) "
        "(CONFIGSERVER_ALLOW_UNAUTHENTICATED_USER_API=1)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=int(_env("MAX_IN_FLIGHT", str(defaults.max_in_flight))),
        help="requests of one API (User, Agent) in flight per transport; more get ServerBusy "
        "(CONFIGSERVER_MAX_IN_FLIGHT; default %(default)s)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=float(_env("REQUEST_TIMEOUT", str(defaults.request_timeout))),
        help="seconds a request may wait for the store; then RequestTimeout "
        "(CONFIGSERVER_REQUEST_TIMEOUT; default %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(_env("WORKERS", "1")),
        help="server processes sharing the ports; 0 for one per core "
        "(CONFIGSERVER_WORKERS; default %(default)s)",
    )
    parser.add_argument(
        "--grace-period",
        type=float,
        default=float(_env("GRACE_PERIOD", str(defaults.grace_period))),
        help="seconds calls in flight may take to finish at shutdown "
        "(CONFIGSERVER_GRACE_PERIOD; default %(default)s)",
    )
    args = parser.parse_args(argv)
    for name in ("http_listen", "grpc_listen"):
        if isinstance(getattr(args, name), str):
            setattr(args, name, listen_address(getattr(args, name)))
    return args


def token(path: str, variable: str) -> str | None:
    """The token in the file at `path`, else in the environment variable, else None."""
    if path:
        text = Path(path).read_text().strip()
        if not text:
            raise ValueError(f"the token file {path} is empty")
        return text
    return os.environ.get(variable) or None


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        user_token=token(args.user_token_file, "CONFIGSERVER_USER_TOKEN"),
        agent_token=token(args.agent_token_file, "CONFIGSERVER_AGENT_TOKEN"),
        allow_unauthenticated_user_api=args.allow_unauthenticated_user_api,
        tls_cert=args.tls_cert or None,
        tls_key=args.tls_key or None,
        http_host=args.http_listen[0],
        http_port=args.http_listen[1],
        grpc_host=args.grpc_listen[0],
        grpc_port=args.grpc_listen[1],
        store_url=args.store,
        max_body_size=args.max_body_size,
        grace_period=args.grace_period,
        max_in_flight=args.max_in_flight,
        request_timeout=args.request_timeout,
    )


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    from app import ConfigServer  # after the process is set up (workers, metrics)

    async with ConfigServer(settings):
        await stop.wait()
        logging.getLogger(__name__).info("stopping")


def run_server(settings: Settings) -> int:
    """Serve in this process; the exit code."""
    try:
        asyncio.run(serve(settings))
    except Exception as error:
        logging.getLogger(__name__).error("cannot start", extra={"error": str(error)})
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=args.log_level, handlers=[handler])
    logging.getLogger("yoyo").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        settings = settings_from(args)
    except (OSError, ValueError) as error:
        logging.getLogger(__name__).error("cannot start", extra={"error": str(error)})
        raise SystemExit(1) from None
    workers = args.workers or os.cpu_count() or 1
    if workers == 1:
        raise SystemExit(run_server(settings))
    with tempfile.TemporaryDirectory(prefix="configserver-metrics-") as metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics  # before any worker loads prometheus_client
        try:
            code = run_workers(settings, workers, run_server)
        except Exception as error:
            logging.getLogger(__name__).error("cannot start", extra={"error": str(error)})
            code = 1
    raise SystemExit(code)
