"""The `configserver` command: flags, their environment variables, and refusing to start clearly."""

import signal
from pathlib import Path

import pytest

from configserverd.cli import listen_address, parse_args, settings_from
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
