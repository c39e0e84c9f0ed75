"""The dataset filter model, built from the one list of its fields (`loreforge.filter_fields.FIELDS`): the
Python API takes it, the REST API reads it from query parameters (GET) or a JSON body (POST), and the CLI's
options are made from the same list."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model

from loreforge.filter_fields import FIELDS


class _Filter(BaseModel):
    def is_empty(self) -> bool:
        return not any(v is not None for v in self.model_dump().values())


def _annotation(f: Any) -> Any:
    return (list[f.type] if f.many else f.type) | None


DatasetFilter: Any = create_model(  # one field per FilterField; every condition is optional
    "DatasetFilter",
    __base__=_Filter,
    __doc__="Which dataset items an action applies to (all given conditions must hold; None: no condition).",
    **{f.name: (_annotation(f), Field(None, description=f.help, **f.bounds)) for f in FIELDS},
)
DatasetFilter.__module__ = __name__


class ChunkFilter(_Filter):
    """Which chunks a list shows and a job works on (all given conditions must hold; None: no condition) — the
    chunk list's filters, so that "every chunk matching the filter" means the same rows on a page and in a job."""

    document_id: int | None = Field(None, description="Only chunks of this document.")
    text: str | None = Field(None, description="Only chunks containing this text.")
    min_size: int | None = Field(None, ge=0, description="Only chunks of at least this many characters.")
    max_size: int | None = Field(None, ge=0, description="Only chunks of at most this many characters.")
    has_questions: bool | None = Field(None, description="Only chunks with (or without) questions.")
    cleaned: bool | None = Field(None, description="Only chunks whose text a cleaning changed (or did not): their original is kept.")
    flagged: bool | None = Field(None, description="Only chunks whose cleaning changed figures (or did not).")


class QuestionFilter(_Filter):
    """Which questions a list shows and a job answers (all given conditions must hold; None: no condition)."""

    chunk_id: int | None = Field(None, description="Only questions of this chunk.")
    tag: str | None = Field(None, description="Only questions with this tag ('' for untagged ones).")
    text: str | None = Field(None, description="Only questions containing this text.")
    answered: bool | None = Field(None, description="Only answered (or unanswered) questions.")
