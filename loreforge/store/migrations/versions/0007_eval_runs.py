"""eval runs on the one life cycle, and their answers (issue 11)

- `eval_runs` is rebuilt: an evaluation run is now job-backed like a train run — `job_id` (unique, the `jobs`
  row holding status, heartbeat, progress, cancel and error) — and keeps what is its own: the project, the base
  model, the tuned model (`tuned`: a train run, a folder or a model config), the probe sets asked, the
  generation settings (`config`), the headline `metrics` and the `report_dir`. The columns of the old shape
  (`status`, `error`, `finished_at`, `model`, `adapter`, `report_path`) go: no LoreForge version wrote that
  table, so it holds no rows to carry over.
- `eval_results`: one row per (eval run, probe, model label, rotation) — unique, so a resumed run never answers
  a probe twice — with the prompt, the answer, its scores (correct, key-fact match, judge score and reason,
  BLEU-4, ROUGE), tokens, latency and finish reason.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eval_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_runs_project_id"))
    op.drop_table("eval_runs")
    _create_runs()
    _create_results()


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def _create_runs() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("train_run_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("base_model", sa.String(length=1000), nullable=False),
        sa.Column("tuned", sa.JSON(), nullable=False),
        sa.Column("probe_set_ids", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("report_dir", sa.String(length=1000), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_eval_runs_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_eval_runs_job_id_jobs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["train_run_id"], ["train_runs.id"], name=op.f("fk_eval_runs_train_run_id_train_runs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
        sa.UniqueConstraint("job_id", name=op.f("uq_eval_runs_job_id")),
    )
    with op.batch_alter_table("eval_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_runs_project_id"), ["project_id"], unique=False)


def _create_results() -> None:
    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("eval_run_id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("model_label", sa.String(length=20), nullable=False),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("key_match", sa.Boolean(), nullable=True),
        sa.Column("judge_score", sa.Float(), nullable=True),
        sa.Column("judge_reason", sa.Text(), nullable=True),
        sa.Column("bleu", sa.Float(), nullable=True),
        sa.Column("rouge", sa.JSON(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("finish_reason", sa.String(length=30), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["eval_run_id"], ["eval_runs.id"], name=op.f("fk_eval_results_eval_run_id_eval_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["probe_id"], ["probes.id"], name=op.f("fk_eval_results_probe_id_probes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_results")),
        sa.UniqueConstraint("eval_run_id", "probe_id", "model_label", "rotation", name="uq_eval_results_run_probe_model_rotation"),
    )
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_results_eval_run_id"), ["eval_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eval_results_probe_id"), ["probe_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("eval_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_results_probe_id"))
        batch_op.drop_index(batch_op.f("ix_eval_results_eval_run_id"))
    op.drop_table("eval_results")
    with op.batch_alter_table("eval_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_runs_project_id"))
    op.drop_table("eval_runs")
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("train_run_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=1000), nullable=False),
        sa.Column("adapter", sa.String(length=1000), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("report_path", sa.String(length=1000), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_eval_runs_project_id_projects"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["train_run_id"], ["train_runs.id"], name=op.f("fk_eval_runs_train_run_id_train_runs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
    )
    with op.batch_alter_table("eval_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_runs_project_id"), ["project_id"], unique=False)
