"""The migrations of issue 15's data modes go down and up again cleanly (0010 onwards, down to 0008)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from loreforge.store.db import Database, alembic_config


def _down(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


def test_data_mode_migrations_up_down_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url).dispose()
    _down(url, "0008")
    names = inspect(create_engine(url))
    assert {"question_templates", "ga_pairs", "distill_tags", "images", "pdf_pages"}.isdisjoint(names.get_table_names())
    assert {"ga_pair_id", "kind", "meta", "distilled", "image_id"}.isdisjoint({c["name"] for c in names.get_columns("dataset_items")})
    assert "template_id" not in {c["name"] for c in names.get_columns("questions")}
    assert "original_text" not in {c["name"] for c in names.get_columns("chunks")}
    db = Database(url)  # up again
    tables = set(inspect(db.engine).get_table_names())
    assert {"question_templates", "ga_pairs", "distill_tags", "images", "pdf_pages"} <= tables
    assert {"ga_pair_id", "kind", "meta", "distilled", "image_id"} <= {c["name"] for c in inspect(db.engine).get_columns("dataset_items")}
    assert "template_id" in {c["name"] for c in inspect(db.engine).get_columns("questions")}
    assert {"original_text", "cleaning"} <= {c["name"] for c in inspect(db.engine).get_columns("chunks")}
    db.dispose()
