"""TLS material for both listeners: a PEM certificate chain and its private key, read once at start."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    cert_path: str
    key_path: str
    cert: bytes
    key: bytes


def load_tls(cert_path: str | None, key_path: str | None) -> TlsFiles | None:
    """None for plaintext; both files or neither, else a clear error."""
    if not cert_path and not key_path:
        return None
    if not cert_path or not key_path:
        raise ValueError("TLS needs both a certificate (--tls-cert) and its key (--tls-key)")
    return TlsFiles(cert_path, key_path, Path(cert_path).read_bytes(), Path(key_path).read_bytes())
