"""pipeline runs: one recipe taken through every stage, on the one life cycle (issue 12)

`pipeline_runs` holds what a run of `loreforge run RECIPE.yaml` keeps of its own: the project and the run's name
(unique per project: running the same recipe again continues the same row), the job holding its life cycle
(`job_id`, kind `pipeline`), the validated recipe, the recipe file, the run folder, each stage's record (input
fingerprint, status, result) and the summary.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("recipe", sa.JSON(), nullable=False),
        sa.Column("recipe_path", sa.String(length=1000), nullable=True),
        sa.Column("run_dir", sa.String(length=1000), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_pipeline_runs_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_pipeline_runs_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint("job_id", name=op.f("uq_pipeline_runs_job_id")),
        sa.UniqueConstraint("project_id", "name", name="uq_pipeline_runs_project_name"),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_runs_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_project_id"))
    op.drop_table("pipeline_runs")
