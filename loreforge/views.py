"""What the service layer returns: typed, JSON-ready views shared by the CLI (`--json`), the REST API and
the Python API. Pydantic models so FastAPI documents them in the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Counts(BaseModel):
    documents: int = 0
    chunks: int = 0
    questions: int = 0
    dataset_items: int = 0


class ProjectView(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    counts: Counts
    path: str = Field(description="Folder holding this project's files")


class DocumentView(BaseModel):
    id: int
    project_id: int
    filename: str
    format: str
    title: str | None
    size_bytes: int
    char_count: int
    pages: int | None
    encoding: str | None
    chunks: int
    warnings: list[str]
    content_hash: str
    original_path: str
    markdown_path: str
    split_settings: dict[str, Any]
    created_at: datetime


class ChunkView(BaseModel):
    id: int
    project_id: int
    document_id: int
    document: str
    ordinal: int
    text: str
    start: int
    end: int
    heading_path: str
    size: int
    overlap: int
    edited: bool
    questions: int = 0
    stale_questions: int = 0


class PageView(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class IngestItem(BaseModel):
    filename: str
    status: Literal["added", "duplicate", "failed"]
    document_id: int | None = None
    chunks: int = 0
    error: str | None = None
    warnings: list[str] = []


class IngestReport(BaseModel):
    items: list[IngestItem]
    added: int
    duplicates: int
    failed: int

    @property
    def ok(self) -> bool:
        return self.failed == 0


class ChunkStats(BaseModel):
    count: int = 0
    total_chars: int = 0
    min: int = 0
    max: int = 0
    mean: float = 0.0
    median: float = 0.0


class SplitItem(BaseModel):
    document_id: int
    filename: str
    chunks: int
    warnings: list[str] = []
    unlinked_questions: int = 0


class SplitReport(BaseModel):
    strategy: str
    documents: list[SplitItem]
    stats: ChunkStats


class SettingView(BaseModel):
    key: str
    value: Any
    default: Any
    source: Literal["default", "project"]
    description: str
    allowed: str


class TocNode(BaseModel):
    level: int
    title: str
    start: int
    children: list["TocNode"] = []


class DocumentToc(BaseModel):
    document_id: int
    filename: str
    title: str | None
    toc: list[TocNode]


class ProjectToc(BaseModel):
    project: str
    documents: list[DocumentToc]


class Deleted(BaseModel):
    deleted: int
    detail: dict[str, int] = {}


class DemoReport(BaseModel):
    project: ProjectView
    ingest: IngestReport
    split: SplitReport
    toc: ProjectToc
