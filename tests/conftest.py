"""Fixtures: a real server per test on a fresh store (each test runs on SQLite and on PostgreSQL), and
clients for both transports."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.stores import Backend, backend
from tests.support import Client, GrpcClient, HttpClient, ServerThread, running_server

# CI: a fixed, derandomized sample. `make fuzz` (HYPOTHESIS_PROFILE=fuzz): many more, random each run.
settings.register_profile(
    "ci", derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as chosen:
        yield chosen


@pytest.fixture
def store_url(store: Backend) -> str:
    return store.url


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


@pytest.fixture(params=["http", "grpc"])
def transport(request: pytest.FixtureRequest) -> str:
    """For tests that start a server of their own: each runs once per transport."""
    chosen: str = request.param
    return chosen
