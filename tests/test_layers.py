"""The layers of docs/architecture.md, read from the code's own imports: imports only go down, and no module
imports itself back through others (no cycle between the modules of a package, nor between packages)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "facades": {"facades", "pipeline", "core", "configserver", "google"},
    "pipeline": {"pipeline", "core", "configserver", "google", "prometheus_client"},
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
"""Project packages and third-party wire libraries each layer may import (the standard library aside): the
pipeline is the framework, the façades the application that registers into it; the transports know the
pipeline, never a façade."""

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


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules `path` imports (`from package import module` counts as the module)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & modules


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of `graph` (a path that comes back to its first module), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_no_module_imports_itself_back() -> None:
    paths = {module_name(path): path for layer in PROJECT_AND_WIRE if (ROOT / layer).is_dir()
             for path in (ROOT / layer).rglob("*.py")}  # fmt: skip
    modules = set(paths)
    graph = {name: project_imports(path, modules) - {name} for name, path in paths.items()}
    assert cycle(graph) == []
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"], "the check finds a cycle"
