"""Migration 0004 upgrades a store written before the one life cycle: train runs keep their ids and move their
status to a jobs row, finished work stays finished (the claims ledger), and duplicates that overlapping runs
left behind are reported and removed before the result keys become unique."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from loreforge.store.db import Database, alembic_config

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc).isoformat(sep=" ")


def _old_store(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        run = conn.execute
        run(text("INSERT INTO projects (id, name, description, settings, created_at, updated_at) VALUES (1, 'p', '', '{}', :t, :t)"), {"t": NOW})
        run(text("INSERT INTO documents (id, project_id, filename, stored_path, markdown_path, format, content_hash, text_hash, size_bytes, "
                 "char_count, toc, warnings, meta, split_settings, created_at, updated_at) VALUES (1, 1, 'a.md', 'a', 'b', 'md', 'h', 'h', 1, 1, "
                 "'[]', '[]', '{}', '{}', :t, :t)"), {"t": NOW})
        run(text("INSERT INTO chunks (id, project_id, document_id, ordinal, text, start, \"end\", heading_path, size, overlap, carried, edited, "
                 "text_hash, created_at, updated_at) VALUES (1, 1, 1, 0, 'x', 0, 1, '', 1, 0, '', 0, 'h', :t, :t)"), {"t": NOW})
        for qid, qtext, norm in ((1, "营收是多少？", "营收是多少"), (2, "营收是多少？", "营收是多少"), (3, "手工问题", ""), (4, "另一个手工问题", "")):
            run(text("INSERT INTO questions (id, project_id, chunk_id, text, norm_text, stale, answered, source, tokens_in, tokens_out, "
                     "created_at, updated_at) VALUES (:id, 1, 1, :q, :n, 0, 1, 'llm', 0, 0, :t, :t)"), {"id": qid, "q": qtext, "n": norm, "t": NOW})
        for iid, qid, confirmed in ((10, 1, 0), (11, 2, 1), (12, 3, 0), (13, 3, 0)):
            run(text("INSERT INTO dataset_items (id, project_id, question_id, chunk_id, question, answer, cot, tag, confirmed, score_reason, "
                     "grounding, labels, note, stale, source, tokens_in, tokens_out, system, created_at, updated_at) VALUES "
                     "(:id, 1, :q, 1, 'q', 'a', '', '', :c, '', '{}', '[]', '', 0, 'llm', 0, 0, '', :t, :t)"), {"id": iid, "q": qid, "c": confirmed, "t": NOW})
        run(text("INSERT INTO jobs (id, project_id, kind, status, params, total, done, failed, created_at, updated_at) "
                 "VALUES (5, 1, 'questions', 'completed', '{}', 1, 1, 0, :t, :t)"), {"t": NOW})
        run(text("INSERT INTO job_items (job_id, item_key, status, created_at, updated_at) VALUES (5, 'chunk:1:abc', 'done', :t, :t)"), {"t": NOW})
        run(text("INSERT INTO train_runs (id, project_id, name, base_model, finetuning_type, config, status, metrics, error, pid, progress, "
                 "created_at, updated_at) VALUES (7, 1, 'r', '/m', 'lora', '{}', 'failed', '{}', 'boom', 123, "
                 "'{\"current_steps\": 3, \"total_steps\": 8}', :t, :t)"), {"t": NOW})
    engine.dispose()


def test_upgrade_moves_runs_keeps_ledger_and_removes_duplicates(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_store(url)
    with caplog.at_level(logging.WARNING, logger="loreforge.store"):
        db = Database(url)
    with db.engine.connect() as conn:
        q = conn.execute(text("SELECT id FROM questions ORDER BY id")).scalars().all()
        items = conn.execute(text("SELECT id, question_id FROM dataset_items ORDER BY id")).all()
        run = conn.execute(text("SELECT id, job_id FROM train_runs")).one()
        job = conn.execute(text("SELECT kind, status, error, pid, done, total FROM jobs WHERE id = :j"), {"j": run.job_id}).one()
        claims = conn.execute(text("SELECT kind, item_key, status, job_id FROM work_claims")).all()
        norms = conn.execute(text("SELECT norm_text FROM questions WHERE id IN (3, 4)")).scalars().all()
    assert q == [1, 3, 4]  # question 2 duplicated question 1 on the same chunk; manual ones got a norm_text
    assert all(norms)
    assert items == [(11, 1), (12, 3)]  # the confirmed item of question 1's group survives (moved to question 1)
    assert run.id == 7 and tuple(job) == ("train", "failed", "boom", 123, 3, 8)
    assert [tuple(c) for c in claims] == [("questions", "chunk:1:abc", "done", 5)]
    assert "removed 1 duplicate question(s) (ids 2) and 2 duplicate dataset item(s) (ids 10, 13)" in caplog.text
    db.dispose()
