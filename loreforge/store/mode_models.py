"""The tables of the data modes of issue 15: images (stored like documents), distillation trees, genre–audience
pairs and question templates. Part of the one schema (`loreforge.store.models` re-exports them); the questions and
dataset items they make stay in `questions` and `dataset_items`, linked by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loreforge.store.models import Base, Provenance, Timestamped


class Image(Timestamped, Base):
    """An image of a project, stored like a document: the user's name, the file under a safe name, its hash."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("project_id", "content_hash", name="uq_images_project_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))  # the name the user gave (a zip entry, "report.pdf#page=3")
    stored_path: Mapped[str] = mapped_column(String(1000))  # relative to the project folder
    content_hash: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))  # png | jpeg | webp | gif | bmp
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(String(20), default="file")  # file | folder | zip | pdf
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), nullable=True)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a rendered PDF page, from 1


class DistillTag(Timestamped, Provenance, Base):
    """A node of a distillation tree: the topic (depth 0, no parent) or a sub-tag; questions are asked of leaves."""

    __tablename__ = "distill_tags"
    __table_args__ = (UniqueConstraint("project_id", "parent_id", "label", name="uq_distill_tags_project_parent_label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("distill_tags.id", ondelete="CASCADE"), nullable=True, index=True)
    label: Mapped[str] = mapped_column(String(300))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)


class GaPair(Timestamped, Provenance, Base):
    """One genre–audience pair of a document: the style (genre) and the reader (audience) questions and answers
    are written in. Active pairs multiply question generation for the document's chunks."""

    __tablename__ = "ga_pairs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    genre_title: Mapped[str] = mapped_column(String(300))
    genre_description: Mapped[str] = mapped_column(Text, default="")
    audience_title: Mapped[str] = mapped_column(String(300))
    audience_description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class QuestionTemplate(Timestamped, Base):
    """A fixed question applied to every chunk (or image) of a project, with the answer type it wants: free
    `text`, a `label` from `labels` (else "other"), or `json` in the user's `json_format` (an example value)."""

    __tablename__ = "question_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="text")  # text | image
    answer_type: Mapped[str] = mapped_column(String(20), default="text")  # text | label | json
    description: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    json_format: Mapped[str] = mapped_column(Text, default="")
    ordinal: Mapped[int] = mapped_column(Integer, default=0)


class PdfPage(Timestamped, Provenance, Base):
    """One converted page of a PDF (page 0: the whole file, from MinerU), kept until its document is made."""

    __tablename__ = "pdf_pages"
    __table_args__ = (UniqueConstraint("project_id", "content_hash", "strategy", "page", name="uq_pdf_pages_project_hash_strategy_page"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(500))
    strategy: Mapped[str] = mapped_column(String(20))  # vision | mineru-api | mineru-local
    page: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)  # of the whole file
    markdown: Mapped[str] = mapped_column(Text)
