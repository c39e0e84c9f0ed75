"""The chunk and question filters applied in the database: the chunk list, the question list and the jobs started
on "every chunk (question) matching the filter" use these, so a page's select-all and the job name the same
rows, and nothing loads them all to find them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, select

from loreforge.filters import ChunkFilter, QuestionFilter
from loreforge.store.models import Chunk, Project, Question, Tag


def chunk_conditions(query: Select[Any], f: ChunkFilter | None) -> Select[Any]:
    """`query` (over chunks) narrowed to the chunks matching `f`."""
    if f is None:
        return query
    if f.document_id is not None:
        query = query.where(Chunk.document_id == f.document_id)
    if f.text:
        query = query.where(Chunk.text.contains(f.text, autoescape=True))
    if f.min_size is not None:
        query = query.where(Chunk.size >= f.min_size)
    if f.max_size is not None:
        query = query.where(Chunk.size <= f.max_size)
    if f.has_questions is not None:
        held = exists(select(Question.id).where(Question.chunk_id == Chunk.id))
        query = query.where(held if f.has_questions else ~held)
    if f.cleaned is not None:
        query = query.where(Chunk.original_text.is_not(None) if f.cleaned else Chunk.original_text.is_(None))
    if f.flagged is not None:
        flagged = Chunk.cleaning["flagged"].as_boolean().is_(True)
        query = query.where(flagged if f.flagged else ~flagged)
    return query


def question_conditions(query: Select[Any], row: Project, f: QuestionFilter | None) -> Select[Any]:
    """`query` (over questions) narrowed to the questions matching `f`; tag '' means untagged."""
    if f is None:
        return query
    if f.chunk_id is not None:
        query = query.where(Question.chunk_id == f.chunk_id)
    if f.tag == "":
        query = query.where(Question.tag_id.is_(None))
    elif f.tag is not None:
        query = query.where(Question.tag_id.in_(select(Tag.id).where(Tag.project_id == row.id, Tag.label == f.tag)))
    if f.text:
        query = query.where(Question.text.contains(f.text, autoescape=True))
    if f.answered is not None:
        query = query.where(Question.answered.is_(f.answered))
    return query
