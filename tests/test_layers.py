"""The layers of docs/architecture.md, read from the code's own imports: imports only go down."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "facades": {"facades", "core", "configserver", "google"},
    "pipeline": {"pipeline", "facades", "core", "configserver", "google", "prometheus_client"},
    "http_gateway": {
        "http_gateway",
        "pipeline",
        "core",
        "configserver",
        "google",
        "tornado",
        "prometheus_client",
    },
    "grpc_service": {
        "grpc_service",
        "pipeline",
        "core",
        "configserver",
        "google",
        "grpc",
        "grpc_health",
        "grpc_reflection",
    },
    "configserverctl": {"configserverctl"},  # a client of the User API over HTTP, nothing of the server
    "console": {"console"},
}
"""Project packages and third-party wire libraries each layer may import (the standard library aside)."""

PROJECT_AND_WIRE = {
    "core",
    "facades",
    "pipeline",
    "http_gateway",
    "grpc_service",
    "configserverd",
    "configserverctl",
    "console",
    "configserver",
    "google",
    "tornado",
    "grpc",
    "grpc_health",
    "grpc_reflection",
    "prometheus_client",
}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & PROJECT_AND_WIRE


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_go_down(layer: str) -> None:
    for path in sorted((ROOT / layer).rglob("*.py")):
        beyond = imported(path) - ALLOWED[layer]
        assert not beyond, f"{path.relative_to(ROOT)} imports {sorted(beyond)}"
