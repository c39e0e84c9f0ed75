"""PDF conversion by a vision model or MinerU: each converted page kept until its document is made (issue 15)

`pdf_pages` holds the Markdown of each page of a PDF being converted (`page` 0: the whole file, from MinerU), keyed by
the PDF's content hash and the strategy, with provenance — so a conversion killed half-way resumes with the pages
done, and the document is made once every page is there.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pdf_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("prompt_name", sa.String(length=100), nullable=True),
        sa.Column("prompt_hash", sa.String(length=64), nullable=True),
        sa.Column("input_hash", sa.String(length=64), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_pdf_pages_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pdf_pages")),
        sa.UniqueConstraint("project_id", "content_hash", "strategy", "page", name="uq_pdf_pages_project_hash_strategy_page"),
    )
    with op.batch_alter_table("pdf_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pdf_pages_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pdf_pages_input_hash"), ["input_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pdf_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pdf_pages_input_hash"))
        batch_op.drop_index(batch_op.f("ix_pdf_pages_project_id"))
    op.drop_table("pdf_pages")
