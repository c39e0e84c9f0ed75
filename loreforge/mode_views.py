"""What the service layer returns for the data modes of issue 15 (question templates, chunk cleaning,
genre–audience pairs, dialogues, distillation, images, PDF conversion): typed, JSON-ready views shared by the
CLI (`--json`), the REST API and the Python API, beside `loreforge.views`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TemplateView(BaseModel):
    id: int
    project_id: int
    question: str
    source: str = Field(description="text (every chunk) or image (every image)")
    answer_type: str = Field(description="text, label (one of `labels`, else other) or json (shaped like `json_format`)")
    description: str
    labels: list[str]
    json_format: str
    ordinal: int
    questions: int = Field(0, description="Questions this template made")
    answered: int = Field(0, description="Of those, answered")
    created_at: datetime


class TemplateApplied(BaseModel):
    template_id: int
    created: int = Field(description="Questions made now")
    existing: int = Field(description="Sources that already had this template's question")


class CleanDiffView(BaseModel):
    chunk_id: int
    cleaned: bool = Field(description="Whether the chunk was cleaned (else `original` and `text` are the same)")
    original: str = Field(description="The text before its first cleaning")
    text: str = Field(description="The text now")
    diff: str = Field(description="A unified diff, original → now")
    dropped: list[str] = Field(description="Figures, dates and names of the original that the cleaned text lost")
    added: list[str] = Field(description="Figures, dates and names the cleaned text has and the original had not")
    flagged: bool = Field(description="Figures changed: check the diff")
    cleaning: dict[str, Any] = Field(description="How it was cleaned: source, model, prompt name and hash, tokens, rules")


class GaPairView(BaseModel):
    id: int
    project_id: int
    document_id: int
    ordinal: int
    genre_title: str
    genre_description: str
    audience_title: str
    audience_description: str
    active: bool
    source: str = Field(description="llm (proposed), or manual (added or edited by hand: kept when proposed again)")
    model: str | None
    prompt_hash: str | None
    tokens_in: int
    tokens_out: int
    questions: int = Field(0, description="Questions asked in this pair's style")
    dataset_items: int = 0


class DistillTagView(BaseModel):
    id: int
    parent_id: int | None
    label: str
    depth: int = Field(description="0 for a topic")
    source: str = Field(description="llm (made by the model) or manual")
    model: str | None = None
    questions: int = Field(0, description="Distilled questions of this tag")
    items: int = Field(0, description="Of those, answered (distilled dataset items)")
    children: list[DistillTagView] = []


class DistillEstimateView(BaseModel):
    levels: int
    tags_per_level: int
    questions_per_leaf: int
    mode: str
    tags: int = Field(description="Tags the tree will have below the topic")
    leaves: int
    questions: int
    steps: dict[str, dict[str, int]] = Field(description="step -> calls, tokens_in, tokens_out (an estimate)")
    calls: int
    tokens: int


class DistillRunView(BaseModel):
    topic: str
    jobs: list[Any] = Field(description="The jobs run (JobView), one per step; empty when started in the background")
    tree: list[DistillTagView]
    started_in_background: bool = False


class ImageView(BaseModel):
    id: int
    project_id: int
    filename: str
    format: str
    width: int
    height: int
    size_bytes: int
    origin: str = Field(description="file, folder, zip or pdf (a rendered page)")
    document_id: int | None = None
    page: int | None = None
    content_hash: str
    path: str = Field(description="The stored file (GET .../images/{id}/file serves it)")
    questions: int = 0
    dataset_items: int = 0
    created_at: datetime


class ImageImportItem(BaseModel):
    filename: str
    status: str = Field(description="added, duplicate or failed")
    image_id: int | None = None
    error: str | None = None


class ImageImportReport(BaseModel):
    items: list[ImageImportItem]
    added: int
    duplicates: int
    failed: int


class PdfConvertView(BaseModel):
    strategy: str
    jobs: list[Any] = Field(description="The conversion job (JobView): a page per item (vision) or a file per item (MinerU)")
    documents: list[Any] = Field(description="Per file (IngestItem): the document made, a duplicate, or why not")
    started_in_background: bool = False


class SecretStored(BaseModel):
    name: str
    stored: str = Field(description="How it is kept (never its value)")


class ModeSummaryView(BaseModel):
    """What each way of making data has made in a project."""

    ga_items: int = Field(description="Dataset items made in a genre–audience pair's style")
    dialogues: int = Field(description="Dataset items of kind dialogue")
    distilled_items: int = Field(description="Dataset items answered from the model's own knowledge")
    image_items: int = Field(description="Dataset items about an image")
    cot_items: int = Field(description="Dataset items with a chain of thought")
    cleaned_chunks: int = Field(description="Chunks whose text a cleaning changed (their original kept)")
    flagged_chunks: int = Field(description="Chunks whose cleaning changed figures")
    templates: int
    images: int
    ga_pairs: int
    active_ga_pairs: int
    distill_topics: int
    pdf_jobs: int = Field(description="PDF conversion jobs (vision model or MinerU)")
    cot_setting: str = Field(description="answers.cot: auto, ask or off")
