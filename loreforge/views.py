"""What the service layer returns: typed, JSON-ready views shared by the CLI (`--json`), the REST API and
the Python API. Pydantic models so FastAPI documents them in the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
V = TypeVar("V", bound=BaseModel)


class _Overlay:
    """An ORM row seen through derived values: `extra` first, then the row's own attributes."""

    def __init__(self, row: Any, extra: dict[str, Any]) -> None:
        self._row, self._extra = row, extra

    def __getattr__(self, name: str) -> Any:
        return self._extra[name] if name in self._extra else getattr(self._row, name)


def from_row(view: type[V], row: Any, **extra: Any) -> V:
    """A view built from an ORM row's attributes (pydantic's `from_attributes`); `extra` gives the fields that
    are derived (an effective status, counts, a masked key) or renamed."""
    return view.model_validate(_Overlay(row, extra), from_attributes=True)


class Counts(BaseModel):
    documents: int = 0
    chunks: int = 0
    questions: int = 0
    dataset_items: int = 0
    tokens: int = Field(0, description="Tokens spent on LLM calls for this project (in + out)")


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
    cleaned: bool = Field(False, description="Cleaned (its original is kept: `chunks diff`)")
    flagged: bool = Field(False, description="Its cleaning changed figures")


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
    kept_chunks: int = Field(0, description="Chunks whose text is unchanged: they keep their id, questions and answers")


class SplitReport(BaseModel):
    strategy: str
    documents: list[SplitItem]
    stats: ChunkStats
    unchanged: int = Field(0, description="Documents left as they were (changed_only: already split with these settings)")


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
    tags: int = 0
    questions: "JobView | None" = None
    answers: "JobView | None" = None
    grounding: "CheckReport | None" = None
    export: "ExportReport | None" = None


class ModelView(BaseModel):
    id: int
    name: str
    provider: str
    model: str
    base_url: str | None
    api_key: str | None = Field(description="How the key is referenced; a stored key is never shown")
    options: dict[str, Any]
    active: bool
    type: str = Field("text", description="text, or vision (reads images); `active` is per type")


class ModelTest(BaseModel):
    name: str
    ok: bool
    latency_ms: float
    reply: str = ""
    error: str | None = None


class PresetView(BaseModel):
    name: str
    kind: str
    label: str
    base_url: str | None
    key_env: str | None
    key_required: bool
    notes: str


class JobFailure(BaseModel):
    key: str
    error: str | None
    raw_output: str | None = None


class JobView(BaseModel):
    """One piece of long work of any kind (questions, answers, score, train): the one life cycle's view."""

    id: int
    project_id: int | None
    project: str | None = Field(None, description="The project's name")
    kind: str
    status: str = Field(description="queued, running, cancelling, completed, completed_with_failures, failed, cancelled or interrupted")
    total: int
    done: int
    failed: int
    skipped: int = Field(0, description="Items another job did or was doing (two processes split the work)")
    params: dict[str, Any]
    progress: dict[str, Any] = Field({}, description="Kind-specific live detail (a training step's loss, time left) and notes")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None = None
    failures: list[JobFailure] = []
    skips: list[JobFailure] = Field([], description="Skipped items with the job that has them")

    @property
    def summary(self) -> str:
        unit = self.progress.get("unit")
        if unit:
            text = f"{self.status} ({self.done} of {self.total} {unit})"
        elif self.status == "completed_with_failures":
            text = f"completed with {self.failed} failed ({self.done} done of {self.total})"
        else:
            text = f"{self.status} ({self.done} done, {self.failed} failed, of {self.total})"
        notes = [f"{self.skipped} done or held by another job"] if self.skipped else []
        notes += [str(n) for n in self.progress.get("notes", [])]
        return text + ("; " + "; ".join(notes) if notes else "")


class TagView(BaseModel):
    id: int
    label: str
    parent_id: int | None
    questions: int = 0
    children: list["TagView"] = []


class QuestionView(BaseModel):
    id: int
    chunk_id: int | None
    text: str
    tag: str
    stale: bool
    answered: bool
    template_id: int | None = Field(None, description="The question template that made it")
    ga_pair_id: int | None = Field(None, description="The genre–audience pair it was asked in")
    image_id: int | None = Field(None, description="The image it is about")
    source: str
    model: str | None
    prompt_hash: str | None
    tokens_in: int
    tokens_out: int


class UsageRow(BaseModel):
    key: str
    calls: int
    errors: int
    tokens_in: int
    tokens_out: int
    latency_ms: float | None = Field(None, description="Mean latency of the calls")


class UsagePoint(BaseModel):
    """One hour (UTC) of LLM calls."""

    hour: str = Field(description="YYYY-MM-DDTHH:00Z")
    calls: int
    tokens: int


class PerRow(BaseModel):
    stage: str
    what: str = Field(description="The rows the stage makes (questions, answers, dialogues, cleaned chunks, ...)")
    rows: int
    calls: int
    tokens: int
    calls_per_row: float | None
    tokens_per_row: float | None


class UsageView(BaseModel):
    by_model: list[UsageRow]
    by_stage: list[UsageRow]
    qa_pairs: int
    tokens_per_pair: float | None
    by_hour: list[UsagePoint] = Field([], description="Calls and tokens per hour, oldest first")
    per_row: list[PerRow] = Field([], description="Per stage: calls and tokens per row it made")


class PromptView(BaseModel):
    name: str
    language: str
    description: str
    variables: list[str]
    overridden: bool
    hash: str
    text: str
    shipped_text: str | None = Field(None, description="The shipped template, when the project overrides it")


class DatasetItemView(BaseModel):
    id: int
    question_id: int | None
    chunk_id: int | None
    document_id: int | None = None
    question: str
    answer: str
    cot: str
    tag: str
    confirmed: bool
    rating: int | None
    score: float | None
    score_reason: str
    grounding: dict[str, Any]
    labels: list[str]
    note: str
    duplicate_of: int | None
    stale: bool
    source: str
    model: str | None
    prompt_hash: str | None
    tokens_in: int
    tokens_out: int
    source_text: str | None = Field(None, description="The source chunk's text (in `show`)")
    ga_pair_id: int | None = Field(None, description="The genre–audience pair it was made in")
    kind: str = Field("qa", description="qa, or dialogue (earlier rounds in `history`; the last in question/answer)")
    history: list[list[str]] | None = Field(None, description="Earlier [user, assistant] turns")
    system: str = Field("", description="The item's own system prompt (a dialogue's)")
    meta: dict[str, Any] | None = Field(None, description="A dialogue's roles, scenario and rounds; `cot`: where the chain of thought "
                                        "came from (reply: asked in the answer call, native: the model's own reasoning, synthesized: "
                                        "the one extra call)")
    distilled: bool = Field(False, description="Answered from the model's own knowledge (distillation): never grounded")
    image_id: int | None = Field(None, description="The image it is about (image QA)")


class BatchResult(BaseModel):
    matched: int
    changed: int
    detail: dict[str, int] = {}


class CheckReport(BaseModel):
    checked: int
    failed: int
    items: list[dict[str, Any]] = []


class DedupReport(BaseModel):
    groups: list[list[int]]
    duplicates: int
    removed: int


class ImportReport(BaseModel):
    format: str
    imported: int
    skipped: int
    issues: list[dict[str, Any]] = []


class ExportReport(BaseModel):
    folder: str
    files: list[str]
    counts: dict[str, int]
    manifest: str


class TinyModelView(BaseModel):
    path: str
    vocab_size: int
    tokenizer_size: int
    parameters: int


class EnvView(BaseModel):
    report: dict[str, Any]
    text: str = Field(description="The report as `loreforge env` prints it")


DemoReport.model_rebuild()


class TrainRunView(BaseModel):
    id: int
    project_id: int | None
    name: str
    base_model: str
    finetuning_type: str
    status: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    output_dir: str | None
    best_checkpoint: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    progress: dict[str, Any] = {}
    log_file: str | None = None
    job_id: int | None = None  # the run's life cycle: `loreforge jobs show JOB_ID`


class MergedModelView(BaseModel):
    path: str
    base_model: str
    adapter: str
    parameters: int


class ConvertedModelView(BaseModel):
    """A Hugging Face folder converted from a GGUF file (`loreforge convert-gguf`, `loreforge starter-model`)."""

    path: str
    source: str = Field(description="The GGUF file it was converted from")
    sha256: str = Field(description="SHA-256 of that file")
    parameters: int
    has_chat_template: bool
    architecture: str


# -- probes (issue 11): what a model is asked ---------------------------------------------------------------

class ProbeView(BaseModel):
    """One probe. `kind`: held_out, reworded, key_fact, user or general; `qtype`: open, short, true_false,
    single_choice or multiple_choice; choice probes hold `options` and the correct indices in `answer`
    (true/false probes: a boolean)."""

    id: int
    position: int
    kind: str
    qtype: str
    question: str
    reference: str
    key: str | None = Field(None, description="The checkable value in the reference (scoring does not depend on wording)")
    key_kind: str | None = Field(None, description="number, percentage, amount, date or name")
    options: list[str] | None = None
    answer: Any = None
    document_id: int | None = None
    chunk_id: int | None = None
    dataset_item_id: int | None = None
    tag: str | None = None
    source_question: str | None = Field(None, description="The training question it was derived from")
    provenance: dict[str, Any] = {}


class ProbeSetView(BaseModel):
    id: int
    project_id: int
    name: str
    kinds: list[str]
    language: str
    params: dict[str, Any] = Field(description="How it was built: kinds, question types, size, split, seed, threshold, model")
    counts: dict[str, Any] = Field(description="Built and dropped (leakage, other reasons) in all and per kind; leaked examples")
    probes: int = Field(0, description="Probes stored in the set")
    created_at: datetime
    updated_at: datetime
    job: JobView | None = Field(None, description="The rewording job, for sets with reworded probes")


class ProbeSetPage(BaseModel):
    set: ProbeSetView
    probes: PageView[ProbeView]


class ProbeImportReport(BaseModel):
    set: ProbeSetView
    imported: int
    skipped: int
    issues: list[dict[str, Any]] = Field([], description="One per bad record: its line and what is wrong")


class ProbeExportReport(BaseModel):
    path: str
    probes: int


# -- evaluation runs (issue 11): base vs tuned, probe by probe ------------------------------------------------

class EvalRunView(BaseModel):
    """An evaluation run: what it compares and how (its own fields) and its life cycle (status, progress, error:
    its job's, as for a train run)."""

    id: int
    project_id: int
    project: str | None = None
    job_id: int = Field(description="The run's life cycle: `loreforge jobs show JOB_ID`")
    name: str
    status: str = Field(description="queued, running, cancelling, completed, failed, cancelled or interrupted")
    base_model: str
    tuned: dict[str, Any] = Field(description="What --tuned named: kind (local or endpoint), ref, name, folder or model config")
    rag: bool = False
    probe_set_ids: list[int] = []
    probe_sets: list[str] = []
    config: dict[str, Any] = Field({}, description="Generation settings (greedy, max_new_tokens, batch size, rag k, judge) and models")
    metrics: dict[str, Any] = Field({}, description="Headline numbers: accuracy per model and kind with 95% intervals, the paired test")
    report_dir: str | None = None
    done: int = 0
    total: int = 0
    progress: dict[str, Any] = {}
    error: str | None = None
    log_file: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class EvalCompareView(BaseModel):
    """Two evaluation runs side by side: each model's accuracy (overall and per kind) in both, and the tuned
    models compared probe by probe on the probes both asked."""

    a: EvalRunView
    b: EvalRunView
    rows: list[dict[str, Any]] = Field(description="metric, model, group, a, b, delta (b - a)")
    paired: dict[str, Any] | None = Field(None, description="Tuned of b vs tuned of a on the common probes: wins, losses, ties, p")


# -- pipeline runs (issue 12): documents to a tuned, evaluated model in one command ----------------------------

class PipelineView(BaseModel):
    """A recipe's run through the stages: its own fields (recipe, run folder, each stage's record, the summary) and
    its life cycle (its job's status, progress, error, as for every long work)."""

    id: int
    project_id: int
    project: str | None = None
    job_id: int = Field(description="The run's life cycle: `loreforge jobs show JOB_ID`")
    name: str
    status: str = Field(description="queued, running, cancelling, completed, failed, cancelled or interrupted")
    recipe: dict[str, Any] = Field({}, description="The recipe as validated (paths absolute, never a secret)")
    recipe_path: str | None = None
    run_dir: str = Field(description="The run folder: dataset bundle, model, loss curves, evaluation report, log, summary")
    stages: dict[str, Any] = Field({}, description="Per stage: status, why it ran or was skipped, input fingerprint, result")
    summary: dict[str, Any] = Field({}, description="The one-screen summary's numbers (written by the report stage)")
    done: int = Field(0, description="Stages finished in this execution")
    total: int = Field(0, description="Stages this execution runs")
    progress: dict[str, Any] = Field({}, description="The stage running now and its own progress (items, steps, answers)")
    error: str | None = None
    log_file: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
