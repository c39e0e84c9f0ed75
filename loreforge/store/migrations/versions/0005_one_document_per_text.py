"""one document per content: the Markdown's hash is unique in a project, like the original's

Ingest has always refused a file whose bytes (`content_hash`, unique since 0001) or whose converted Markdown
(`text_hash`) a project already holds, but the second check was not atomic: two ingests at the same time could
both add the same text. `documents` is now unique on (project, text_hash) too, so the store picks one winner.

Existing duplicates (same project, same bytes or same Markdown) are reported and removed first, keeping the
oldest document (lowest id) of each group; like `documents delete`, the removed documents' chunks go and their
questions and dataset items are kept, unlinked and marked stale. Their files stay on disk: the log names the
folders, as `<project id>/documents/<folder>` under `$LOREFORGE_HOME/projects` (a store does not know its home).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("loreforge.store")
_BATCH = 500


def upgrade() -> None:
    if not context.is_offline_mode():
        _dedupe(op.get_bind())
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_documents_project_text", ["project_id", "text_hash"])


def _documents() -> sa.TableClause:
    return sa.table("documents", sa.column("id"), sa.column("project_id"), sa.column("content_hash"), sa.column("text_hash"),
                    sa.column("stored_path"))


def _duplicates(bind: Any) -> tuple[dict[int, int], list[str]]:
    """({removed document id: the kept document's id}, the removed ones' folders no kept document uses);
    the oldest document of each group is kept."""
    docs = _documents()
    kept: dict[tuple[Any, str, str], int] = {}
    removed: dict[int, int] = {}
    kept_folders: set[str] = set()
    removed_folders: set[str] = set()
    for d in bind.execute(sa.select(docs).order_by(docs.c.id)).mappings().all():
        keys = [(d["project_id"], "bytes", d["content_hash"]), (d["project_id"], "text", d["text_hash"])]
        owner = next((kept[k] for k in keys if k in kept), None)
        folder = _folder(d["project_id"], d["stored_path"])
        if owner is None:
            kept.update({k: d["id"] for k in keys})
            kept_folders.add(folder)
        else:
            removed[d["id"]] = owner
            removed_folders.add(folder)
    return removed, sorted(removed_folders - kept_folders)


def _dedupe(bind: Any) -> None:
    """Report and remove duplicate documents (same bytes or same Markdown in one project)."""
    removed, folders = _duplicates(bind)
    if not removed:
        return
    ids = sorted(removed)
    docs = _documents()
    chunks = sa.table("chunks", sa.column("id"), sa.column("document_id"))
    questions = sa.table("questions", sa.column("chunk_id"), sa.column("stale"))
    items = sa.table("dataset_items", sa.column("chunk_id"), sa.column("stale"))
    unlinked = 0
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        doomed = sa.select(chunks.c.id).where(chunks.c.document_id.in_(batch)).scalar_subquery()
        unlinked += bind.execute(sa.update(questions).where(questions.c.chunk_id.in_(doomed)).values(chunk_id=None, stale=True)).rowcount or 0
        bind.execute(sa.update(items).where(items.c.chunk_id.in_(doomed)).values(chunk_id=None, stale=True))
        bind.execute(sa.delete(chunks).where(chunks.c.document_id.in_(batch)))
        bind.execute(sa.delete(docs).where(docs.c.id.in_(batch)))
    pairs = ", ".join(f"{d} (same as {removed[d]})" for d in ids[:20]) + (", ..." if len(ids) > 20 else "")
    log.warning(
        "LoreForge store upgrade: removed %d duplicate document(s): %s; each group keeps its oldest document. "
        "%d question(s) of their chunks were kept, unlinked and marked stale. Their files are left on disk; "
        "these folders under $LOREFORGE_HOME/projects can be deleted: %s",
        len(ids), pairs, unlinked, ", ".join(folders[:20]) + (", ..." if len(folders) > 20 else "") or "none",
    )


def _folder(project_id: int, stored_path: str) -> str:
    return f"{project_id}/" + stored_path.replace("\\", "/").rsplit("/", 1)[0]


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_documents_project_text", type_="unique")
