"""The `configserver` command: flags, their environment variables, and refusing to start clearly."""

import json
import os
import re
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from configserverd.cli import command
from configserverd.flags import AGENT_TOKEN, OPTIONS, USER_TOKEN, listen_address, settings_from
from core.store.backends import describe_store
from tests.support import ServerProcess, parse_flags

ROOT = Path(__file__).resolve().parent.parent
CONFIGSERVER = Path(sys.executable).parent / "configserver"
"""The installed command (the console script of the package)."""


def test_defaults() -> None:
    settings = settings_from(parse_flags())
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8899)
    assert (settings.grpc_host, settings.grpc_port) == ("127.0.0.1", 8900)
    assert settings.store_url == "sqlite:///data/configserver.db"


def test_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGSERVER_HTTP_LISTEN", "0.0.0.0:1000")
    monkeypatch.setenv("CONFIGSERVER_GRPC_LISTEN", "[::1]:2000")
    monkeypatch.setenv("CONFIGSERVER_STORE", "sqlite:////tmp/x.db")
    monkeypatch.setenv("CONFIGSERVER_LOG_LEVEL", "debug")
    flags = parse_flags()
    settings = settings_from(flags)
    assert (settings.http_host, settings.http_port, settings.grpc_host, settings.grpc_port) == (
        "0.0.0.0",
        1000,
        "::1",
        2000,
    )
    assert (settings.store_url, flags.log_level) == ("sqlite:////tmp/x.db", "DEBUG")
    settings = settings_from(parse_flags("--http-listen", "127.0.0.2:3000", "--store", "sqlite:///y.db"))
    assert (settings.http_host, settings.http_port, settings.store_url) == (
        "127.0.0.2",
        3000,
        "sqlite:///y.db",
    )


def test_governance_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGSERVER_AUDIT_RETENTION_SECONDS", "3600")
    policy = settings_from(parse_flags("--history-retention", "7", "--max-answer-size", "1000000")).policy
    assert (policy.history_retention, policy.audit_retention_seconds, policy.max_answer_size) == (
        7,
        3600,
        1_000_000,
    )
    monkeypatch.delenv("CONFIGSERVER_AUDIT_RETENTION_SECONDS")
    defaults = settings_from(parse_flags()).policy
    assert (defaults.history_retention, defaults.audit_retention_seconds, defaults.max_answer_size) == (
        100,
        7_776_000,
        4_128_768,
    )
    with pytest.raises(ValueError, match="--history-retention"):
        settings_from(parse_flags("--history-retention", "0"))


@pytest.mark.parametrize("text", ["8899", "host:", "host:port", "h:70000"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        listen_address(text)


def test_listen_addresses() -> None:
    assert listen_address("[::1]:8899") == ("::1", 8899)
    assert listen_address(":8899") == ("0.0.0.0", 8899)
    v1 = settings_from(parse_flags("--v1-http-listen", "127.0.0.3:9000"))
    assert (v1.v1_http_host, v1.v1_http_port) == ("127.0.0.3", 9000)
    for off in (parse_flags(), parse_flags("--v1-http-listen", "")):
        assert settings_from(off).v1_http_port is None, "the v1 listener is off by default and when empty"


def test_a_flag_is_set_by_its_variable_and_the_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGSERVER_WORKERS", "3")
    monkeypatch.setenv("CONFIGSERVER_AGENT_OFFLINE_AFTER", "30")
    monkeypatch.setenv("CONFIGSERVER_V1_HTTP_LISTEN", "127.0.0.1:9000")
    flags = parse_flags()
    assert (flags.workers, flags.agent_offline_after, flags.v1_http_listen) == (3, 30, ("127.0.0.1", 9000))
    flags = parse_flags("--workers", "2", "--agent-offline-after", "45", "--v1-http-listen", "")
    assert (flags.workers, flags.agent_offline_after, flags.v1_http_listen) == (2, 45, None)


@pytest.mark.parametrize(
    ("value", "set_"),
    [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False), ("", False)],
)
def test_the_boolean_variables(monkeypatch: pytest.MonkeyPatch, value: str, set_: bool) -> None:
    monkeypatch.setenv("CONFIGSERVER_NO_UI", value)
    monkeypatch.setenv("CONFIGSERVER_ALLOW_UNAUTHENTICATED_USER_API", value)
    flags = parse_flags()
    assert (flags.no_ui, flags.allow_unauthenticated_user_api) == (set_, set_)
    settings = settings_from(flags)
    assert (settings.ui, settings.allow_unauthenticated_user_api) == (not set_, set_)
    assert parse_flags("--no-ui").no_ui, "the flag sets it whatever the variable says"


def test_a_boolean_variable_that_is_no_boolean_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGSERVER_NO_UI", "maybe")
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 2
    assert "CONFIGSERVER_NO_UI" in result.output and "'maybe' is not a valid boolean" in result.output


def test_the_token_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """CONFIGSERVER_USER_TOKEN and CONFIGSERVER_AGENT_TOKEN hold the tokens themselves; a token file, by
    its flag or its variable, wins."""
    monkeypatch.setenv(USER_TOKEN, "user-token-in-the-variable")
    monkeypatch.setenv(AGENT_TOKEN, "agent-token-in-the-variable")
    settings = settings_from(parse_flags())
    assert (settings.user_token, settings.agent_token) == (
        "user-token-in-the-variable",
        "agent-token-in-the-variable",
    )
    (tmp_path / "user").write_text("user-token-in-a-file\n")
    (tmp_path / "agent").write_text("agent-token-in-a-file\n")
    monkeypatch.setenv("CONFIGSERVER_AGENT_TOKEN_FILE", str(tmp_path / "agent"))
    settings = settings_from(parse_flags("--user-token-file", str(tmp_path / "user")))
    assert (settings.user_token, settings.agent_token) == ("user-token-in-a-file", "agent-token-in-a-file")


def test_help_shows_each_flag_with_its_variable_and_default() -> None:
    result = subprocess.run([CONFIGSERVER, "--help"], capture_output=True, text=True, check=True)
    text = " ".join(result.stdout.split())  # as one line, whatever the wrapping
    for option in OPTIONS:
        (name,) = option.opts
        variable = "CONFIGSERVER_" + name.removeprefix("--").replace("-", "_").upper()
        assert name in text and option.envvar == variable and variable in text, name
    assert "[env var: CONFIGSERVER_HTTP_LISTEN; default: 127.0.0.1:8899]" in text
    assert "[env var: CONFIGSERVER_AUDIT_RETENTION_SECONDS; default: 7776000]" in text
    assert USER_TOKEN in text and AGENT_TOKEN in text


def test_the_readme_lists_every_flag_and_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| flag | environment |") :].split("\n\n", 1)[0]
    rows = [line.split(" | ")[:2] for line in table.splitlines()[2:]]
    flags = {flag for cell, _ in rows for flag in re.findall(r"`(--[a-z0-9-]+)", cell)}
    variables = {variable for _, cell in rows for variable in re.findall(r"`(CONFIGSERVER_[A-Z0-9_]+)", cell)}
    assert flags == {option.opts[0] for option in OPTIONS}
    assert variables == {option.envvar for option in OPTIONS} | {USER_TOKEN, AGENT_TOKEN}


def test_an_invalid_listen_address_is_refused_naming_the_flag() -> None:
    result = subprocess.run([CONFIGSERVER, "--http-listen", "8899"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Invalid value for '--http-listen'" in result.stderr
    assert "expected HOST:PORT, got '8899'" in result.stderr


def test_an_invalid_variable_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGSERVER_GRPC_LISTEN", "localhost")
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 2
    assert (
        "CONFIGSERVER_GRPC_LISTEN" in result.output and "expected HOST:PORT, got 'localhost'" in result.output
    )


def test_the_log_level_is_any_case_of_four() -> None:
    assert parse_flags("--log-level", "warning").log_level == "WARNING"
    result = CliRunner().invoke(command, ["--log-level", "verbose"])
    assert result.exit_code == 2 and "'verbose' is not one of" in result.output


def test_a_value_not_above_zero_cannot_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [CONFIGSERVER, "--store", f"sqlite:///{tmp_path / 'cs.db'}", "--alarm-retention-count", "0"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    (line,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert (line["event"], line["error"]) == (
        "cannot start",
        "--alarm-retention-count must be above 0, got 0",
    )


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
