"""The `configserver` command: its flags (`configserverd.flags`) parsed by click, logging, signals, one
process or workers."""

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

from configserverd.flags import OPTIONS, Flags, settings_from
from configserverd.loop import new_event_loop
from configserverd.settings import Settings
from configserverd.workers import run_workers

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


def log_to_stderr(level: str) -> None:
    """JSON lines on stderr from `level` up; the migrations (yoyo) say only warnings and worse."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("yoyo").setLevel(max(logging.WARNING, logging.getLogger().level))


def start(flags: Flags) -> int:
    """Serve as the flags say, in this process or in workers; the exit code."""
    log_to_stderr(flags.log_level)
    try:
        settings = settings_from(flags)
    except (OSError, ValueError) as error:
        log.error("cannot start", extra={"error": str(error)})
        return 1
    workers = flags.workers or os.cpu_count() or 1
    return run_server(settings) if workers == 1 else run_processes(settings, workers)


def run_processes(settings: Settings, workers: int) -> int:
    """Serve in `workers` processes sharing the ports, their metrics summed; the exit code."""
    with tempfile.TemporaryDirectory(prefix="configserver-metrics-") as metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics  # before any worker loads prometheus_client
        try:
            return run_workers(settings, workers, run_server)
        except Exception as error:
            log.error("cannot start", extra={"error": str(error)})
            return 1


@click.command(
    "configserver",
    params=list(OPTIONS),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(package_name="configserver", message="%(prog)s %(version)s")
def command(**flags: Any) -> None:
    """ConfigServer for observability agents: HTTP and gRPC on one core.

    Every flag can also be set by the environment variable shown with it; a flag given wins over its
    variable.
    """
    raise SystemExit(start(Flags(**flags)))


def main(argv: Sequence[str] | None = None) -> None:
    command.main(argv, prog_name="configserver")
