"""Versioned schema migrations, one folder of SQL files per backend, applied with yoyo.

yoyo records what it applied in the database itself and takes a lock while it works, so several servers
starting at once on one database apply each migration once.
"""

import sqlite3
from datetime import datetime
from pathlib import Path

from yoyo import get_backend, read_migrations

_HERE = Path(__file__).parent

# yoyo writes datetimes (its lock and log rows) through sqlite3, whose default datetime adapter is
# deprecated since Python 3.12 (a DeprecationWarning at every start, removed in a later Python). This is
# the replacement the sqlite3 documentation gives, writing the same text the default adapter wrote.
sqlite3.register_adapter(datetime, lambda moment: moment.isoformat(" "))


def migrate(url: str, backend: str) -> None:
    """Bring the schema at `url` up to date with the migrations of `backend` (a folder name here)."""
    database = get_backend(url)
    try:
        migrations = read_migrations(str(_HERE / backend))
        with database.lock():
            database.apply_migrations(database.to_apply(migrations))
    finally:
        database.connection.close()
