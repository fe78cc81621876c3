"""A full disk under the SQLite store: each write is answered 500 InternalServerError and logged with its
cause, stored data stays as it was, and writes work again once there is room. A read-only store: the
server refuses to start and says why. The store lives on a small tmpfs mounted for the test (which needs
root: elsewhere these tests skip and say why)."""

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import HttpClient, ServerProcess, ServerThread, make, running_server


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


@pytest.fixture
def server_on_disk(tiny_disk: Path) -> Iterator[tuple[ServerThread, Path]]:
    with running_server(f"sqlite:///{tiny_disk / 'store.db'}") as server:
        yield server, tiny_disk


def create(http: HttpClient, name: str, size: int = 10) -> str:
    return http.call(
        "CreateConfig", make("CreateConfig", config_detail={"config_name": name, "content": "x" * size})
    ).code


def names(http: HttpClient) -> list[str]:
    return [c.config_name for c in http.call("ListConfigs", make("ListConfigs")).response.config_details]


def test_a_full_disk_is_reported_and_recovered_from(
    server_on_disk: tuple[ServerThread, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, disk = server_on_disk
    http = HttpClient(server.http_port)
    assert create(http, "before") == "Accept"
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill the disk to the last byte
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(descriptor)
    caplog.set_level(logging.ERROR)
    codes = {create(http, f"big{i}", 200_000) for i in range(3)}
    assert codes == {"InternalServerError"}
    assert any("full" in (record.exc_text or record.getMessage()) for record in caplog.records), (
        "the cause is logged"
    )
    assert names(http) == ["before"]
    filler.unlink()
    assert create(http, "after") == "Accept"
    assert names(http) == ["after", "before"]


def test_a_read_only_store_refuses_to_start_and_says_why(tiny_disk: Path) -> None:
    url = f"sqlite:///{tiny_disk / 'store.db'}"
    with running_server(url) as server:
        assert create(HttpClient(server.http_port), "kept") == "Accept"
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    try:
        code, log = ServerProcess(url).run_to_exit()
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_disk)], check=True)
    assert code == 1
    assert '"event": "cannot start"' in log and "read-only" in log
    with running_server(url) as server:
        assert names(HttpClient(server.http_port)) == ["kept"]
