"""The whole core and generation workflow on a real PostgreSQL server (LOREFORGE_DATABASE_URL).

CI starts a throwaway server with `.ci/postgres.sh` and sets LOREFORGE_TEST_DATABASE_URL; elsewhere these
tests are skipped (they need a PostgreSQL server, which a laptop may not have)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import examples
from loreforge.service import Service
from loreforge.settings import AppConfig

BASE = os.environ.get("LOREFORGE_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not BASE, reason="no PostgreSQL server (set LOREFORGE_TEST_DATABASE_URL; CI does)")


@pytest.fixture()
def pg(tmp_path: Path) -> Iterator[Service]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    assert BASE is not None
    name = f"lf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(BASE).set(database=name).render_as_string(hide_password=False)
    svc = Service(AppConfig(home=tmp_path / "home", database_url=url))
    try:
        yield svc
    finally:
        svc.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_workflow_on_postgresql(pg: Service) -> None:
    assert pg.db.engine.dialect.name == "postgresql"
    pg.create_project("fin")
    pg.set_setting("fin", "split.max_length", 1200)
    report = pg.ingest("fin", [*examples(), examples()[1]])
    assert [i.status for i in report.items] == ["added", "added", "duplicate"]
    chunks = pg.list_chunks("fin", page_size=1000).items
    assert chunks and all(c.size <= 1200 for c in chunks)
    assert pg.list_chunks("fin", text="27.9%").total >= 1
    merged = pg.merge_chunks("fin", [chunks[0].id, chunks[1].id])
    first, _second = pg.split_chunk("fin", merged.id, 10)
    pg.edit_chunk("fin", first.id, "星河精密2025年上半年综合毛利率为27.9%。")
    pg.build_tags("fin")
    q = pg.generate_questions("fin")
    a = pg.generate_answers("fin")
    assert q.status == "completed" and a.done > 0
    assert pg.list_dataset("fin").total > 0
    assert pg.usage("fin").qa_pairs == pg.list_dataset("fin").total
    assert len(pg.toc("fin").documents) == 2
    pg.split("fin", strategy="recursive", force=True)
    assert pg.get_project("fin").counts.questions > 0  # kept, unlinked
    pg.delete_project("fin")
    assert pg.list_projects() == []
