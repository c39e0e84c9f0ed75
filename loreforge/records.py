"""Plain typed records passed between pipeline stages.

Stages (ingest → chunk → generate → review → export → train → evaluate) hand these to each other and to the
store; they carry no database state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadedDocument:
    """What an ingest loader returns: the document as Markdown plus what was learned while reading it."""

    markdown: str
    format: str  # "txt", "md", "html", "docx", "pdf", "epub"
    title: str | None = None
    pages: int | None = None
    encoding: str | None = None
    warnings: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TocEntry:
    """One heading of a document's table of contents."""

    level: int  # 1 for "#", 2 for "##", ...
    title: str
    start: int  # character offset of the heading line in the Markdown text
    children: tuple["TocEntry", ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "title": self.title,
            "start": self.start,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass(frozen=True)
class ChunkSpan:
    """One chunk produced by a splitter.

    `start`/`end` are character offsets into the document's Markdown. `text` is what the chunk holds:
    normally `document[start:end]` (possibly stripped of surrounding whitespace, offsets adjusted to match),
    preceded by `carried` (e.g. a table header repeated from earlier) when the splitter repeated context.
    `overlap` is how many characters at the start of the span repeat the end of the previous chunk.
    """

    text: str
    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    overlap: int = 0
    carried: str = ""

    @property
    def size(self) -> int:
        return len(self.text)

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)


@dataclass(frozen=True)
class QAPair:
    """One dataset item as the review and export stages see it (built from a DatasetItem row)."""

    id: int
    question: str
    answer: str
    cot: str = ""
    tag: str = ""
    chunk_id: int | None = None
    document_id: int | None = None
    confirmed: bool = False
    rating: int | None = None
    score: float | None = None
    labels: tuple[str, ...] = ()
    source_text: str = ""  # the source chunk's text, when known
    model: str | None = None
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) turns, for multi-turn items
    kind: str = "qa"  # "dialogue": a conversation — its earlier turns are always exported, with its own system prompt
    system: str = ""  # the item's own system prompt (written for a dialogue when no export-wide one is given)
    images: tuple[str, ...] = ()  # image QA: the stored image files (exports copy them into `images/` and name them so)
