"""TLS on both listeners, with a certificate the test makes itself (openssl)."""

import http.client
import ssl
import subprocess
from pathlib import Path

import grpc
import pytest

from configserver.proto import service_pb2_grpc, user_pb2
from tests.stores import Backend
from tests.support import ServerProcess, running_server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_both_listeners_serve_tls(store: Backend, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with running_server(store.url, tls_cert=str(cert), tls_key=str(key)) as server:
        context = ssl.create_default_context(cafile=str(cert))
        connection = http.client.HTTPSConnection("127.0.0.1", server.http_port, context=context, timeout=10)
        connection.request("POST", "/User/ListConfigs", b"")
        response = connection.getresponse()
        assert response.status == 200
        assert user_pb2.ListConfigsResponse.FromString(response.read()).code == "Accept"
        connection.close()

        plain = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
            plain.request("POST", "/User/ListConfigs", b"")
            plain.getresponse()
        plain.close()

        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{server.grpc_port}", credentials) as channel:
            answer = service_pb2_grpc.UserServiceStub(channel).ListConfigs(
                user_pb2.ListConfigsRequest(), timeout=10
            )
            assert answer.code == "Accept"
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel, pytest.raises(grpc.RpcError):
            service_pb2_grpc.UserServiceStub(channel).ListConfigs(user_pb2.ListConfigsRequest(), timeout=3)


def test_a_certificate_without_its_key_refuses_to_start(
    store: Backend, certificate: tuple[Path, Path]
) -> None:
    code, log = ServerProcess(store.url, "--tls-cert", str(certificate[0])).run_to_exit()
    assert code == 1
    assert "--tls-key" in log
