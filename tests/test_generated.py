"""generated/ and the other files `make proto` writes are exactly what it makes from proto/, the RPC table
is complete, and the façade contracts mirror the service descriptors."""

import inspect
import subprocess
from pathlib import Path
from typing import get_args, get_origin, get_type_hints

from configserver.proto import service_pb2
from facades import contracts
from pipeline.answers import Encoded
from pipeline.rpcs import RPCS

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("facades/contracts.py", "console/static/routes.js", "configserverctl/routes.py")
"""What `make proto` writes outside generated/, from the service descriptors."""


def generated_files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*_pb2*.py*"))}


def test_make_proto_reproduces_what_it_generated(tmp_path: Path) -> None:
    subprocess.run(
        ["make", "-s", "proto", f"GENERATED={tmp_path / 'generated'}", f"SOURCES={tmp_path}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh = generated_files(tmp_path / "generated")
    assert fresh, "make proto generated nothing"
    assert fresh == generated_files(ROOT / "generated"), "generated/ is stale: run make proto and commit"
    for source in SOURCES:
        assert (tmp_path / source).read_bytes() == (ROOT / source).read_bytes(), f"{source} is stale"


def test_every_rpc_has_a_route_a_handler_and_its_own_path() -> None:
    declared = [m.name for s in service_pb2.DESCRIPTOR.services_by_name.values() for m in s.methods]
    assert [rpc.name for rpc in RPCS] == declared
    assert len(RPCS) == 34
    for rpc in RPCS:
        assert rpc.http_path.rsplit("/", 1)[1] == rpc.name, "the HTTP path ends with the method name"
        assert rpc.http_path.startswith("/User/" if rpc.service.endswith("UserService") else "/Agent/")
        assert rpc.http_method in ("GET", "POST", "PUT", "DELETE")
        assert rpc.listener == ("v1" if rpc.service.endswith("V1") else "")
    routes = {(rpc.listener, rpc.http_path) for rpc in RPCS}
    assert len(routes) == len(RPCS), "each listener serves a path once (v1's collide with alpha's elsewhere)"


def test_the_facade_contracts_mirror_the_service_descriptors() -> None:
    """Each Protocol has one method per RPC of its service and no other, request in, response (or the same
    encoded once) out."""
    for service in service_pb2.DESCRIPTOR.services_by_name.values():
        contract = getattr(contracts, service.name)
        declared = {name for name, _ in inspect.getmembers(contract, inspect.isfunction)} - {
            "__init__",
            "__subclasshook__",
        }
        assert declared == {method.name for method in service.methods}, service.full_name
        for method in service.methods:
            hints = get_type_hints(getattr(contract, method.name))
            assert hints["request"].DESCRIPTOR.full_name == method.input_type.full_name
            answer, encoded = get_args(hints["return"])  # the message, or the same encoded once
            assert get_origin(encoded) is Encoded and get_args(encoded) == (answer,)
            assert answer.DESCRIPTOR.full_name == method.output_type.full_name
