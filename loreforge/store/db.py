"""Database access: engine creation, migrations (Alembic) and sessions.

SQLite under LOREFORGE_HOME by default (WAL, foreign keys on, busy timeout); PostgreSQL when
LOREFORGE_DATABASE_URL names one (needs `pip install 'loreforge[postgres]'`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from loreforge.errors import ConfigError, MissingDependency

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise MissingDependency(exc.name or "psycopg", extra="postgres", purpose="a PostgreSQL store") from exc
    except Exception as exc:  # noqa: BLE001 - any URL parse error becomes a user-facing message
        raise ConfigError(
            "LOREFORGE_DATABASE_URL is not a usable database URL",
            expected="sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB",
            got=type(exc).__name__,
        ) from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


_MIGRATING = threading.Lock()  # Alembic keeps its running context in module globals: one migration per process at a time


def migrate(engine: Engine, url: str) -> None:
    """Bring the schema to the newest revision (one thread of the process at a time: Alembic's `context` and `op`
    are process globals, so two threads migrating at once — a watcher thread reopening a store while the main
    thread opens another — would clash).

    On SQLite, foreign keys are off while migrating: a migration that rebuilds a table (Alembic's batch mode
    copies it, drops the old one and renames the copy) would otherwise fire the ON DELETE actions of every
    table pointing at it (SET NULL, CASCADE) and lose those links. The links are checked once it is done."""
    from alembic import command

    cfg = alembic_config(url)
    sqlite = engine.dialect.name == "sqlite"
    with _MIGRATING, engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if sqlite else []
                if broken:
                    raise ConfigError("The store's upgrade left broken links between tables; nothing was changed",
                                      got=f"{len(broken)} row(s), e.g. {tuple(broken[0])}",
                                      hint="Report this with the store file; keep using the previous LoreForge version meanwhile")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


class Database:
    """Engine + session factory for one database URL; migrated on first open."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine, url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, immediate: bool = False) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error.

        `immediate`: on SQLite, take the write lock at once (BEGIN IMMEDIATE, waiting up to the busy timeout). A
        block that reads, then writes inside a SAVEPOINT (`begin_nested`) needs it: the SAVEPOINT opens a read
        snapshot, and a write after another process committed then fails at once with "database is locked"
        instead of waiting its turn. (PostgreSQL needs nothing of the kind.)"""
        with self._sessions() as session, session.begin():
            if immediate and self.engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
