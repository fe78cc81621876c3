"""Fixtures: a real server per test on a fresh SQLite file, and clients for both transports."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Client, GrpcClient, HttpClient, ServerThread, running_server


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def server(store_url: str) -> Iterator[ServerThread]:
    with running_server(store_url) as running:
        yield running


@pytest.fixture
def http(server: ServerThread) -> HttpClient:
    return HttpClient(server.http_port)


@pytest.fixture
def grpc_client(server: ServerThread) -> Iterator[GrpcClient]:
    client = GrpcClient(server.grpc_port)
    yield client
    client.close()


@pytest.fixture(params=["http", "grpc"])
def client(request: pytest.FixtureRequest, server: ServerThread) -> Iterator[Client]:
    """Each test using this runs once per transport."""
    if request.param == "http":
        yield HttpClient(server.http_port)
    else:
        grpc_client = GrpcClient(server.grpc_port)
        yield grpc_client
        grpc_client.close()
