"""Which backend a store URL names: open it (migrations applied first), prepare it, describe it for logs.

`sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, or
`postgresql://user[:password]@host[:port]/database[?schema=name&…]`.
"""

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from core.store import Store
from core.store.postgresql import PostgresStore
from core.store.sqlite import SqliteStore


def describe_store(url: str) -> str:
    """The store URL as logs may show it: a SQLite file by its absolute path, a PostgreSQL URL without
    its password."""
    if url.startswith("sqlite:///"):
        return "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).resolve())
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def prepare_store(url: str) -> None:
    """Apply the pending schema migrations of the store at `url`, without opening it for service."""
    open_store(url).close()


def open_store(url: str) -> Store:
    """Open the store named by `url`, applying its pending schema migrations first."""
    scheme = url.partition(":")[0]
    if scheme == "sqlite":
        return SqliteStore.open(url)
    if scheme in ("postgresql", "postgres"):
        return PostgresStore.open(url)
    raise ValueError(f"unsupported store URL {url!r}: expected sqlite:///PATH or postgresql://…")
