"""The store: migrations create exactly the models' schema, on SQLite and (as SQL) for PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from loreforge.store.db import Database, alembic_config
from loreforge.store.models import Base

PRODUCT_TABLES = {
    "projects",
    "documents",
    "chunks",
    "tags",
    "questions",
    "dataset_items",
    "model_configs",
    "secrets",
    "jobs",
    "job_items",
    "llm_calls",
    "train_runs",
    "eval_runs",
    "pipeline_runs",
    "arena_tests",
    "arena_rounds",
    "model_servers",
}


def test_migrations_build_the_whole_product_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    names = set(inspect(db.engine).get_table_names())
    assert PRODUCT_TABLES <= names
    assert "alembic_version" in names
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ — add a migration: {diff}"
    db.dispose()


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    Database(url).dispose()
    Database(url).dispose()


def test_migrations_render_for_postgresql() -> None:
    cfg = alembic_config("postgresql+psycopg://u:p@localhost/loreforge")
    buf = io.StringIO()
    cfg.output_buffer = buf
    command.upgrade(cfg, "head", sql=True)
    sql = buf.getvalue()
    for table in PRODUCT_TABLES:
        assert f"CREATE TABLE {table}" in sql
    assert "JSON" in sql and "TIMESTAMP WITH TIME ZONE" in sql


def test_an_immediate_session_writes_after_reads_in_a_savepoint_while_another_process_writes(tmp_path: Path) -> None:
    """A savepoint opens SQLite's read snapshot; once another connection has committed, writing from that snapshot
    fails at once ("database is locked", no waiting). `session(immediate=True)` — the stage writer's — takes the
    write lock first, so the other writer waits its turn instead."""
    import threading

    import pytest
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError

    from loreforge.store.models import Project

    url = f"sqlite:///{tmp_path / 'x.db'}"
    db, other = Database(url), Database(url)

    def add(name: str) -> None:
        with other.session() as session:
            session.add(Project(name=name))

    def read_then_write(immediate: bool, name: str) -> threading.Thread:
        writer = threading.Thread(target=add, args=(f"{name}-other",))
        with db.session(immediate=immediate) as session, session.begin_nested():
            session.scalar(select(func.count()).select_from(Project))  # the snapshot starts here
            writer.start()
            writer.join(0.5)  # deferred: the other commits; immediate: it waits for this transaction
            assert writer.is_alive() is immediate
            session.add(Project(name=name))
        return writer

    with pytest.raises(OperationalError, match="database is locked"):
        read_then_write(False, "deferred")
    read_then_write(True, "immediate").join(10)
    with db.session() as session:
        assert set(session.scalars(select(Project.name))) == {"deferred-other", "immediate", "immediate-other"}
    db.dispose()
    other.dispose()
