"""Migration 0018 makes tag labels unique per project in the store: labels that several tags of a project shared
(under other parents, or as roots, which the old constraint let through) are renamed "label (2)", ... — the oldest
tag keeps its label, no tag is removed, questions keep their tags — and reported."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from loreforge.store.db import Database, alembic_config
from loreforge.store.models import Question, Tag

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc).isoformat(sep=" ")
TAGS = [(1, 1, None, "收入"), (2, 1, None, "收入"), (3, 1, 1, "海外"), (4, 1, 2, "海外"), (5, 1, 1, "收入 (2)"), (6, 2, None, "收入"),
        (7, 1, None, "x" * 300), (8, 1, 1, "x" * 300)]


def _old_store(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0017")
        run = conn.execute
        for pid in (1, 2):
            run(text("INSERT INTO projects (id, name, description, settings, created_at, updated_at) VALUES (:id, :n, '', '{}', :t, :t)"),
                {"id": pid, "n": f"p{pid}", "t": NOW})
        for tid, pid, parent, label in TAGS:
            run(text("INSERT INTO tags (id, project_id, parent_id, label, ordinal, created_at, updated_at) VALUES (:id, :p, :parent, :l, 0, :t, :t)"),
                {"id": tid, "p": pid, "parent": parent, "l": label, "t": NOW})
        run(text("INSERT INTO questions (id, project_id, tag_id, text, norm_text, stale, answered, source, tokens_in, tokens_out, "
                 "created_at, updated_at) VALUES (1, 1, 4, 'q', 'q', 0, 0, 'llm', 0, 0, :t, :t)"), {"t": NOW})
    engine.dispose()


def test_shared_labels_are_renamed_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_store(url)
    with caplog.at_level(logging.WARNING, logger="loreforge.store"):
        db = Database(url)
    with db.session() as session:
        labels = {t.id: t.label for t in session.scalars(select(Tag))}
        tag_of_question = session.scalar(select(Question.tag_id).where(Question.id == 1))
    assert labels == {1: "收入", 2: "收入 (3)", 3: "海外", 4: "海外 (2)", 5: "收入 (2)", 6: "收入", 7: "x" * 300,
                      8: "x" * 296 + " (2)"}
    assert tag_of_question == 4
    assert "3 tag(s) had a label another tag of their project already had" in caplog.text
    with pytest.raises(Exception, match="UNIQUE"), db.session() as session:
        session.add(Tag(project_id=1, parent_id=3, label="收入"))
    db.dispose()
