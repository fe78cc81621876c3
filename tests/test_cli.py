"""The `configserver` command: flags, their environment variables, and refusing to start clearly."""

import json
import os
import re
import signal
from importlib.metadata import version
from pathlib import Path

import pytest

from configserverd.cli import listen_address, parse_args, settings_from
from core.store.backends import describe_store
from tests.support import ServerProcess


def test_defaults() -> None:
    settings = settings_from(parse_args([]))
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8899)
    assert (settings.grpc_host, settings.grpc_port) == ("127.0.0.1", 8900)
    assert settings.store_url == "sqlite:///data/configserver.db"


def test_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGSERVER_HTTP_LISTEN", "0.0.0.0:1000")
    monkeypatch.setenv("CONFIGSERVER_GRPC_LISTEN", "[::1]:2000")
    monkeypatch.setenv("CONFIGSERVER_STORE", "sqlite:////tmp/x.db")
    monkeypatch.setenv("CONFIGSERVER_LOG_LEVEL", "debug")
    args = parse_args([])
    settings = settings_from(args)
    assert (settings.http_host, settings.http_port, settings.grpc_host, settings.grpc_port) == (
        "0.0.0.0",
        1000,
        "::1",
        2000,
    )
    assert (settings.store_url, args.log_level) == ("sqlite:////tmp/x.db", "DEBUG")
    settings = settings_from(parse_args(["--http-listen", "127.0.0.2:3000", "--store", "sqlite:///y.db"]))
    assert (settings.http_host, settings.http_port, settings.store_url) == (
        "127.0.0.2",
        3000,
        "sqlite:///y.db",
    )


def test_governance_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGSERVER_AUDIT_RETENTION_SECONDS", "3600")
    policy = settings_from(parse_args(["--history-retention", "7", "--max-answer-size", "1000000"])).policy
    assert (policy.history_retention, policy.audit_retention_seconds, policy.max_answer_size) == (
        7,
        3600,
        1_000_000,
    )
    monkeypatch.delenv("CONFIGSERVER_AUDIT_RETENTION_SECONDS")
    defaults = settings_from(parse_args([])).policy
    assert (defaults.history_retention, defaults.audit_retention_seconds, defaults.max_answer_size) == (
        100,
        7_776_000,
        4_128_768,
    )
    with pytest.raises(ValueError, match="--history-retention"):
        settings_from(parse_args(["--history-retention", "0"]))


@pytest.mark.parametrize("text", ["8899", "host:", "host:port", "h:70000"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(Exception, match="HOST:PORT"):
        listen_address(text)


@pytest.mark.parametrize("taken", ["--http-listen", "--grpc-listen"])
def test_a_taken_port_is_a_clear_failure(store_url: str, tmp_path: Path, taken: str) -> None:
    with ServerProcess(store_url).start() as first:
        with ServerProcess(f"sqlite:///{tmp_path / 'other.db'}") as second:
            port = first.http_port if taken == "--http-listen" else first.grpc_port
            second.args[second.args.index(taken) + 1] = f"127.0.0.1:{port}"
            code, log = second.run_to_exit()
        assert code == 1
        assert '"event": "cannot start"' in log
        assert first.stop(signal.SIGTERM)[0] == 0


def test_an_unknown_store_is_a_clear_failure() -> None:
    with ServerProcess("mysql://nowhere") as server:
        code, log = server.run_to_exit()
    assert code == 1
    assert "unsupported store URL" in log


def test_log_lines_have_rfc3339_times_and_the_start_line_says_what_runs(tmp_path: Path) -> None:
    """Times in UTC with milliseconds; the start line names the version, the store by its absolute path (a
    relative URL given), what was loaded and the ports."""
    store = tmp_path / "data" / "cs.db"
    store.parent.mkdir()
    relative = os.path.relpath(store)
    with ServerProcess(f"sqlite:///{relative}").start() as server:
        code, log = server.stop(signal.SIGTERM)
    assert code == 0
    lines = [json.loads(line) for line in log.splitlines()]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines), lines
    (started,) = [line for line in lines if line["event"] == "configserver started"]
    assert started["version"] == version("configserver")
    assert started["store"] == f"sqlite:///{store.resolve()}"
    assert started["loaded"] == {"groups": 1, "configs": 0, "bindings": 0, "agents": 0}
    assert (started["http_port"], started["grpc_port"]) == (server.http_port, server.grpc_port)


def test_the_store_password_never_reaches_the_log() -> None:
    assert (
        describe_store("postgresql://u:s3cret@db:5432/cs?schema=x")
        == "postgresql://u:***@db:5432/cs?schema=x"
    )
    assert describe_store("postgresql://u@db/cs") == "postgresql://u@db/cs"
