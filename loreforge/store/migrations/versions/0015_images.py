"""image QA datasets: images stored like documents, questions and items of an image, vision model configs (issue 15)

`images` holds a project's images (the name the user gave, the stored file under a safe name, the content hash —
unique per project — format, size in pixels and bytes, where it came from: a file, a folder, a zip, or a PDF page
with its document and page). `questions.image_id` and `dataset_items.image_id` link QA about an image.
`model_configs.type` says what a config is for: `text` (every config so far) or `vision`.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("stored_path", sa.String(length=1000), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_images_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_images_document_id_documents"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint("project_id", "content_hash", name="uq_images_project_hash"),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_images_project_id"), ["project_id"], unique=False)
    for table in ("questions", "dataset_items"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("image_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_image_id"), ["image_id"], unique=False)
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_image_id_images"), "images", ["image_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("model_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("type", sa.String(length=20), nullable=False, server_default="text"))


def downgrade() -> None:
    with op.batch_alter_table("model_configs", schema=None) as batch_op:
        batch_op.drop_column("type")
    for table in ("dataset_items", "questions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_image_id_images"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_image_id"))
            batch_op.drop_column("image_id")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_images_project_id"))
    op.drop_table("images")
