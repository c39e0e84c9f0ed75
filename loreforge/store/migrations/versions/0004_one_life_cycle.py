"""one life cycle: work claims, result keys, train runs on the jobs table

- `jobs` gains `host` (where its pid runs), `skipped` (items another job did or holds) and `progress`
  (kind-specific live detail); every kind of long work — generation, scoring, training — is a jobs row.
- `work_claims`: the project-wide ledger of work items, claimed before any LLM call; filled here from the
  items earlier jobs finished, so re-runs keep skipping them.
- `train_runs` keeps what is a run's own (config, outputs, metrics); its status, pid, heartbeat, progress and
  error move to a `jobs` row of kind `train` (`train_runs.job_id`). Run ids do not change.
- Result keys: a chunk never holds the same normalised question twice (`questions` unique on project, chunk,
  norm_text) and a question has at most one generated dataset item (`dataset_items.question_id` unique).
  Existing duplicates (from two processes generating at once) are reported and removed first: the earliest
  question of each group is kept, and of several items for one question the reviewed one (confirmed, then
  rated) or else the earliest.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("loreforge.store")
_RUN_LIFE = ("status", "error", "finished_at", "pid", "heartbeat_at", "progress")


def upgrade() -> None:
    online = not context.is_offline_mode()
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))
    _create_claims()
    _train_runs_to_jobs(online)
    if online:
        _dedupe(op.get_bind())
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_questions_project_chunk_norm", ["project_id", "chunk_id", "norm_text"])
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_dataset_items_question_id"), ["question_id"])


def _create_claims() -> None:
    op.create_table(
        "work_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_work_claims_job_id_jobs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_work_claims_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_claims")),
        sa.UniqueConstraint("project_id", "kind", "item_key", name="uq_work_claims_project_kind_key"),
    )
    with op.batch_alter_table("work_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_claims_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_claims_job_id"), ["job_id"], unique=False)
    # What earlier jobs finished stays finished: one ledger row per (project, kind, key), owned by the newest job.
    op.execute(
        "INSERT INTO work_claims (project_id, kind, item_key, job_id, status, created_at, updated_at) "
        "SELECT j.project_id, j.kind, i.item_key, max(j.id), 'done', min(i.created_at), max(i.updated_at) "
        "FROM job_items i JOIN jobs j ON j.id = i.job_id "
        "WHERE i.status = 'done' AND j.project_id IS NOT NULL "
        "GROUP BY j.project_id, j.kind, i.item_key"
    )


def _train_runs_to_jobs(online: bool) -> None:
    with op.batch_alter_table("train_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
    if online:
        _move_run_life_cycles(op.get_bind())
    with op.batch_alter_table("train_runs", schema=None) as batch_op:
        batch_op.alter_column("job_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_train_runs_job_id"), ["job_id"])
        batch_op.create_foreign_key(batch_op.f("fk_train_runs_job_id_jobs"), "jobs", ["job_id"], ["id"], ondelete="CASCADE")
        batch_op.drop_constraint("fk_train_runs_project_id_projects", type_="foreignkey")
        batch_op.create_foreign_key(batch_op.f("fk_train_runs_project_id_projects"), "projects", ["project_id"], ["id"], ondelete="CASCADE")
        for column in _RUN_LIFE:
            batch_op.drop_column(column)


def _move_run_life_cycles(bind: Any) -> None:
    runs = sa.table(
        "train_runs", sa.column("id"), sa.column("project_id"), sa.column("status"), sa.column("error"),
        sa.column("finished_at"), sa.column("pid"), sa.column("heartbeat_at"), sa.column("progress", sa.JSON()),
        sa.column("created_at"), sa.column("updated_at"), sa.column("job_id"),
    )
    jobs = _jobs_table()
    for run in bind.execute(sa.select(runs)).mappings().all():
        progress = run["progress"] or {}
        steps = progress.get("current_steps") if isinstance(progress, dict) else None
        total = progress.get("total_steps") if isinstance(progress, dict) else None
        job_id = bind.execute(
            sa.insert(jobs).values(
                project_id=run["project_id"], kind="train", status=run["status"] or "queued", params={"run_id": run["id"]},
                total=int(total or 0), done=int(steps or 0), failed=0, skipped=0, progress=progress if isinstance(progress, dict) else {},
                error=run["error"], pid=run["pid"], heartbeat_at=run["heartbeat_at"], finished_at=run["finished_at"],
                started_at=run["created_at"], created_at=run["created_at"] or _now(), updated_at=run["updated_at"] or _now(),
            ).returning(jobs.c.id)
        ).scalar_one()
        bind.execute(sa.update(runs).where(runs.c.id == run["id"]).values(job_id=job_id))


def _jobs_table() -> sa.TableClause:
    return sa.table(
        "jobs", sa.column("id"), sa.column("project_id"), sa.column("kind"), sa.column("status"),
        sa.column("params", sa.JSON()), sa.column("total"), sa.column("done"), sa.column("failed"), sa.column("skipped"),
        sa.column("progress", sa.JSON()), sa.column("error"), sa.column("pid"), sa.column("heartbeat_at"),
        sa.column("finished_at"), sa.column("started_at"), sa.column("created_at"), sa.column("updated_at"),
    )


def _dedupe(bind: Any) -> None:
    """Report and remove duplicate questions (per chunk, normalised) and duplicate items per question."""
    from loreforge.generate.dedup import normalize

    questions = sa.table("questions", sa.column("id"), sa.column("project_id"), sa.column("chunk_id"), sa.column("text"), sa.column("norm_text"))
    items = sa.table("dataset_items", sa.column("id"), sa.column("question_id"), sa.column("confirmed"), sa.column("rating"))
    keep: dict[tuple[Any, ...], int] = {}
    removed: list[int] = []
    rows = bind.execute(sa.select(questions).order_by(questions.c.id)).mappings().all()
    for q in rows:
        norm = q["norm_text"] or normalize(q["text"]) or q["text"]
        if norm != q["norm_text"]:
            bind.execute(sa.update(questions).where(questions.c.id == q["id"]).values(norm_text=norm))
        key = (q["project_id"], q["chunk_id"], norm)
        if q["chunk_id"] is None or key not in keep:
            keep.setdefault(key, q["id"])
            continue
        bind.execute(sa.update(items).where(items.c.question_id == q["id"]).values(question_id=keep[key]))
        removed.append(q["id"])
    for start in range(0, len(removed), 500):
        bind.execute(sa.delete(questions).where(questions.c.id.in_(removed[start : start + 500])))
    dropped = _dedupe_items(bind, items)
    if removed or dropped:
        log.warning(
            "LoreForge store upgrade: removed %d duplicate question(s)%s and %d duplicate dataset item(s)%s "
            "(made by generation runs that overlapped; each kept question or item is the earliest or the reviewed one)",
            len(removed), _ids(removed), len(dropped), _ids(dropped),
        )


def _dedupe_items(bind: Any, items: sa.TableClause) -> list[int]:
    best: dict[int, tuple[Any, ...]] = {}
    dropped: list[int] = []
    for it in bind.execute(sa.select(items).where(items.c.question_id.is_not(None)).order_by(items.c.id)).mappings().all():
        rank = (not it["confirmed"], it["rating"] is None, it["id"])
        held = best.get(it["question_id"])
        if held is None or rank < held:
            if held is not None:
                dropped.append(held[2])
            best[it["question_id"]] = rank
        else:
            dropped.append(it["id"])
    for start in range(0, len(dropped), 500):
        bind.execute(sa.delete(items).where(items.c.id.in_(dropped[start : start + 500])))
    return sorted(dropped)


def _ids(ids: list[int]) -> str:
    if not ids:
        return ""
    shown = ", ".join(map(str, ids[:20]))
    return f" (ids {shown}{', ...' if len(ids) > 20 else ''})"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def downgrade() -> None:
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_dataset_items_question_id"), type_="unique")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_questions_project_chunk_norm", type_="unique")
    with op.batch_alter_table("train_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=30), nullable=False, server_default="queued"))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.drop_constraint(batch_op.f("fk_train_runs_job_id_jobs"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_train_runs_job_id"), type_="unique")
        batch_op.drop_column("job_id")
    with op.batch_alter_table("work_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_claims_job_id"))
        batch_op.drop_index(batch_op.f("ix_work_claims_project_id"))
    op.drop_table("work_claims")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("host")
        batch_op.drop_column("progress")
        batch_op.drop_column("skipped")
