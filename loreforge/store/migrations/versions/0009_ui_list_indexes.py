"""indexes for the web UI's lists at scale (issue 13)

Each list page reads one page of a project's rows in a fixed order and counts what matches its filter. At 50,000
chunks and 100,000 questions a deep page of the chunk list sorted 50,000 rows to skip most of them; the question
tag tree and tag filter scanned every question of the project. These indexes let the database walk the rows in
order (chunks: project, document, position) and count per tag from the index alone (questions: project, tag).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_chunks_project_document_ordinal", "chunks", ["project_id", "document_id", "ordinal", "id"])
    op.create_index("ix_questions_project_tag", "questions", ["project_id", "tag_id"])


def downgrade() -> None:
    op.drop_index("ix_questions_project_tag", table_name="questions")
    op.drop_index("ix_chunks_project_document_ordinal", table_name="chunks")
