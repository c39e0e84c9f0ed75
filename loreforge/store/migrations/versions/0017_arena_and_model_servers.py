"""Web UI part 2: blind tests (arena) and background model servers (issue 14)

`arena_tests` holds a blind test of two models over a project's probe sets; `arena_rounds` one probe of it: the
left/right order drawn when the round is made, both answers, and the vote (stored before the models are shown).
`model_servers` records the `serve-model` processes started in the background: address, served names, process,
log file, when stopped.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "arena_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("probe_set_ids", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_arena_tests_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_tests")),
    )
    with op.batch_alter_table("arena_tests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arena_tests_project_id"), ["project_id"], unique=False)
    op.create_table(
        "arena_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("arena_id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("shown_left", sa.String(length=1), nullable=False),
        sa.Column("answer_a", sa.Text(), nullable=True),
        sa.Column("answer_b", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("vote", sa.String(length=20), nullable=True),
        sa.Column("winner", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["arena_id"], ["arena_tests.id"], name=op.f("fk_arena_rounds_arena_id_arena_tests"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["probe_id"], ["probes.id"], name=op.f("fk_arena_rounds_probe_id_probes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_rounds")),
        sa.UniqueConstraint("arena_id", "probe_id", name="uq_arena_rounds_arena_probe"),
    )
    with op.batch_alter_table("arena_rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arena_rounds_arena_id"), ["arena_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_arena_rounds_probe_id"), ["probe_id"], unique=False)
    op.create_table(
        "model_servers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("base", sa.String(length=1000), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("log_file", sa.String(length=1000), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_model_servers_project_id_projects"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["run_id"], ["train_runs.id"], name=op.f("fk_model_servers_run_id_train_runs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_servers")),
    )
    with op.batch_alter_table("model_servers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_servers_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_servers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_servers_project_id"))
    op.drop_table("model_servers")
    with op.batch_alter_table("arena_rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arena_rounds_probe_id"))
        batch_op.drop_index(batch_op.f("ix_arena_rounds_arena_id"))
    op.drop_table("arena_rounds")
    with op.batch_alter_table("arena_tests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arena_tests_project_id"))
    op.drop_table("arena_tests")
