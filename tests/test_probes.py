"""Probes (issue 11): the store tables and their migration; the builders, the leakage filter, choice rotation,
file import/export, and the CLI and REST shells."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from loreforge.store.db import Database, alembic_config

PG = os.environ.get("LOREFORGE_TEST_DATABASE_URL")


def _round_trip(url: str) -> None:
    """Upgrade to head, down to 0005 (the probe tables go), up again (they come back)."""
    db = Database(url)
    assert {"probe_sets", "probes"} <= set(inspect(db.engine).get_table_names())
    db.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert not {"probe_sets", "probes"} & set(inspect(engine).get_table_names())
    engine.dispose()
    db = Database(url)
    names = {c["name"] for c in inspect(db.engine).get_columns("probes")}
    assert {"probe_set_id", "position", "kind", "qtype", "key", "key_kind", "options", "answer", "source_question"} <= names
    with db.engine.begin() as conn:
        now = "2026-12-01 00:00:00+00"
        conn.execute(text("INSERT INTO projects (id, name, description, settings, created_at, updated_at) VALUES (1, 'p', '', '{}', :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO probe_sets (id, project_id, name, kinds, language, params, counts, created_at, updated_at) "
                          "VALUES (1, 1, 's', '[]', 'en', '{}', '{}', :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO probes (probe_set_id, position, kind, qtype, question, reference, provenance, created_at) "
                          "VALUES (1, 0, 'user', 'open', 'q', 'r', '{}', :t)"), {"t": now})
    with pytest.raises(Exception, match="(?i)unique"), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO probes (probe_set_id, position, kind, qtype, question, reference, provenance, created_at) "
                          "VALUES (1, 0, 'user', 'open', 'q2', 'r', '{}', :t)"), {"t": now})
    with db.engine.begin() as conn:  # a project's deletion takes its sets and their probes
        if db.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(text("DELETE FROM projects WHERE id = 1"))
        assert conn.execute(text("SELECT count(*) FROM probes")).scalar() == 0
    db.dispose()


def test_migration_0006_up_down_up_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'p.db'}")


@pytest.mark.skipif(not PG, reason="no PostgreSQL server (set LOREFORGE_TEST_DATABASE_URL; CI does)")
def test_migration_0006_up_down_up_postgresql() -> None:
    from sqlalchemy.engine import make_url

    assert PG is not None
    name = f"lf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(make_url(PG).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
