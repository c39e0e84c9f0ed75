"""The LoreForge schema: SQLAlchemy 2.0 declarative models for the whole product.

Every stage reads its inputs from these tables and writes its results back, so any stage can be re-run or
resumed alone. Tables that later stages fill (tags, questions, dataset items, model configs, secrets, jobs,
LLM call log, train runs, eval runs) are designed here so that the schema grows by migrations, not rewrites.
Types are portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Project(Timestamped, Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # only the overridden dotted keys

    documents: Mapped[list["Document"]] = relationship(back_populates="project", cascade="all, delete-orphan", passive_deletes=True)


class Document(Timestamped, Base):
    __tablename__ = "documents"
    __table_args__ = (  # one document per content in a project, whoever ingests it at the same time
        UniqueConstraint("project_id", "content_hash", name="uq_documents_project_hash"),
        UniqueConstraint("project_id", "text_hash", name="uq_documents_project_text"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))  # the name the user gave
    stored_path: Mapped[str] = mapped_column(String(1000))  # original file, relative to the project folder
    markdown_path: Mapped[str] = mapped_column(String(1000))  # converted Markdown, relative to the project folder
    format: Mapped[str] = mapped_column(String(20))
    title: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the original bytes
    text_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the Markdown
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    char_count: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    encoding: Mapped[str | None] = mapped_column(String(40), nullable=True)
    toc: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    split_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # settings of the last split

    project: Mapped[Project] = relationship(back_populates="documents")


class Chunk(Timestamped, Base):
    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_document_ordinal", "document_id", "ordinal"),
                      Index("ix_chunks_project_document_ordinal", "project_id", "document_id", "ordinal", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)  # position within the document
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)  # char offsets into the document's Markdown
    end: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[str] = mapped_column(Text, default="")  # "Part > Section > Sub"
    size: Mapped[int] = mapped_column(Integer)
    overlap: Mapped[int] = mapped_column(Integer, default=0)
    carried: Mapped[str] = mapped_column(Text, default="")
    edited: Mapped[bool] = mapped_column(Boolean, default=False)  # text no longer equals the document span
    text_hash: Mapped[str] = mapped_column(String(64))
    original_text: Mapped[str | None] = mapped_column(Text, nullable=True)  # before its first cleaning; None: never cleaned
    cleaning: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # how it was cleaned, figures that changed


class Tag(Timestamped, Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("project_id", "label", name="uq_tags_project_label"),)  # a label names one tag
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), nullable=True)
    label: Mapped[str] = mapped_column(String(300))
    ordinal: Mapped[int] = mapped_column(Integer, default=0)


class Provenance:
    """Where a generated row came from: model, prompt and tokens."""

    source: Mapped[str] = mapped_column(String(20), default="llm")  # llm | extractive | manual | import
    provider: Mapped[str | None] = mapped_column(String(50), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    prompt_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # resume key
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)


class Question(Timestamped, Provenance, Base):
    __tablename__ = "questions"
    # A chunk never holds the same (normalised) question twice: the result key of question generation.
    __table_args__ = (UniqueConstraint("project_id", "chunk_id", "norm_text", name="uq_questions_project_chunk_norm"),
                      Index("ix_questions_project_tag", "project_id", "tag_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    chunk_id: Mapped[int | None] = mapped_column(ForeignKey("chunks.id", ondelete="SET NULL"), nullable=True, index=True)
    tag_id: Mapped[int | None] = mapped_column(ForeignKey("tags.id", ondelete="SET NULL"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    norm_text: Mapped[str] = mapped_column(Text, default="")  # normalised for near-duplicate detection
    stale: Mapped[bool] = mapped_column(Boolean, default=False)  # its chunk changed after it was written
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("question_templates.id", ondelete="SET NULL"), nullable=True, index=True)
    ga_pair_id: Mapped[int | None] = mapped_column(ForeignKey("ga_pairs.id", ondelete="SET NULL"), nullable=True, index=True)
    distill_tag_id: Mapped[int | None] = mapped_column(ForeignKey("distill_tags.id", ondelete="SET NULL"), nullable=True, index=True)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"), nullable=True, index=True)


class DatasetItem(Timestamped, Provenance, Base):
    __tablename__ = "dataset_items"
    # One generated item of each kind per question (the result key of answer and dialogue generation).
    __table_args__ = (UniqueConstraint("question_id", "kind", name="uq_dataset_items_question_kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # The question it answers (a dialogue: the question it starts from); imported items have none.
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20), default="qa", server_default="qa", index=True)  # qa | dialogue
    chunk_id: Mapped[int | None] = mapped_column(ForeignKey("chunks.id", ondelete="SET NULL"), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    cot: Mapped[str] = mapped_column(Text, default="")
    tag: Mapped[str] = mapped_column(String(300), default="")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)  # stars 0-5
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # AI quality score 0-5
    score_reason: Mapped[str] = mapped_column(Text, default="")
    grounding: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"ok": bool, "missing": [...]}
    grounding_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True, index=True)  # None: not checked
    system: Mapped[str] = mapped_column(Text, default="", server_default="")  # an imported item's own system prompt
    history: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # earlier [question, answer] turns
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)  # free tags
    note: Mapped[str] = mapped_column(Text, default="")
    duplicate_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    ga_pair_id: Mapped[int | None] = mapped_column(ForeignKey("ga_pairs.id", ondelete="SET NULL"), nullable=True, index=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # a dialogue's roles, scenario, rounds
    distilled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # from the model's own knowledge
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"), nullable=True, index=True)


class Secret(Timestamped, Base):
    __tablename__ = "secrets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    ciphertext: Mapped[str] = mapped_column(Text)  # encrypted with the key under LOREFORGE_HOME


class ModelConfig(Timestamped, Base):
    __tablename__ = "model_configs"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_model_configs_project_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    api_key_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)  # "env:VAR" or "secret:NAME"
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # temperature, max_tokens, top_p, extra_body
    active: Mapped[bool] = mapped_column(Boolean, default=False)  # the active one of its type
    type: Mapped[str] = mapped_column(String(20), default="text", server_default="text")  # text | vision


class Job(Timestamped, Base):
    """One piece of long work of any kind (questions, answers, score, train, ...): THE life-cycle row.
    Its status, heartbeat, progress and cancel request live here and nowhere else (see loreforge/jobs/)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(30), default="queued")  # see loreforge.jobs.status
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # never holds secrets
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # done or held by another job
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # kind-specific live detail and counters
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)  # where `pid` runs
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobItem(Timestamped, Base):
    """A job's own record of one planned work item: pending | done | failed | skipped (another job has it)."""

    __tablename__ = "job_items"
    __table_args__ = (UniqueConstraint("job_id", "item_key", name="uq_job_items_job_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    item_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw_output: Mapped[str | None] = mapped_column(Text, nullable=True)


class WorkClaim(Timestamped, Base):
    """The project-wide ledger of work items: one row per (project, kind, item key), claimed by one job at a
    time before any LLM call. Two processes (or machines sharing a PostgreSQL store) never do an item twice."""

    __tablename__ = "work_claims"
    __table_args__ = (UniqueConstraint("project_id", "kind", "item_key", name="uq_work_claims_project_kind_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    item_key: Mapped[str] = mapped_column(String(200))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="claimed")  # claimed | done | failed | pending


class LLMCall(Base):
    __tablename__ = "llm_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    stage: Mapped[str] = mapped_column(String(50))
    provider: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    prompt_name: Mapped[str] = mapped_column(String(100))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(20))  # ok | error
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainRun(Timestamped, Base):
    """What is a training run's own: its config, outputs and metrics. Its life cycle (status, heartbeat,
    progress, error) is the `jobs` row `job_id` points at."""

    __tablename__ = "train_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_model: Mapped[str] = mapped_column(String(1000))
    finetuning_type: Mapped[str] = mapped_column(String(20), default="lora")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output_dir: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    best_checkpoint: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    log_file: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    job: Mapped[Job] = relationship(lazy="joined")


class EvalRun(Timestamped, Base):
    """What is an evaluation run's own: the models compared, the probe sets asked, the generation settings, the
    metrics and the report folder. Its life cycle (status, heartbeat, progress, cancel, error) is the `jobs` row
    `job_id` points at (kind `eval`), as for a train run; its answers are `eval_results` rows."""

    __tablename__ = "eval_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    train_run_id: Mapped[int | None] = mapped_column(ForeignKey("train_runs.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    base_model: Mapped[str] = mapped_column(String(1000))  # as given: a folder, hub id, GGUF file or model config
    tuned: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"kind": run|folder|config, "ref", "path", ...}
    probe_set_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # greedy, max_new_tokens, batch, rag k, judge
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the report's headline numbers
    report_dir: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    job: Mapped[Job] = relationship(lazy="joined")


class PipelineRun(Timestamped, Base):
    """One recipe run through the stages (ingest → split → tags → questions → answers → review → export → train →
    probes → evaluate → report), named per project: running the same recipe again continues this row. Its life
    cycle is the `jobs` row `job_id` points at (kind `pipeline`); what is its own is the recipe as validated, the
    run folder, each stage's record (`stages`: input fingerprint, status, result, what changed) and the summary."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_pipeline_runs_project_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # validated, paths absolute, never secrets
    recipe_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    run_dir: Mapped[str] = mapped_column(String(1000))
    stages: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # stage -> {fingerprint, status, result, ...}
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    job: Mapped[Job] = relationship(lazy="joined")


class EvalResult(Base):
    """One answer of one model to one probe (in one rotation of a choice probe), scored. Written as each batch
    finishes; the unique key is what an interrupted run skips when it resumes (nothing is answered twice)."""

    __tablename__ = "eval_results"
    __table_args__ = (
        UniqueConstraint("eval_run_id", "probe_id", "model_label", "rotation", name="uq_eval_results_run_probe_model_rotation"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    eval_run_id: Mapped[int] = mapped_column(ForeignKey("eval_runs.id", ondelete="CASCADE"), index=True)
    probe_id: Mapped[int] = mapped_column(ForeignKey("probes.id", ondelete="CASCADE"), index=True)
    model_label: Mapped[str] = mapped_column(String(20))  # base | tuned | rag
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    prompt: Mapped[str] = mapped_column(Text, default="")  # the user message as asked
    answer: Mapped[str] = mapped_column(Text, default="")
    reasoning: Mapped[str] = mapped_column(Text, default="")
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # None: nothing to check it against
    key_match: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    judge_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    judge_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    bleu: Mapped[float | None] = mapped_column(Float, nullable=True)
    rouge: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # rouge-1, rouge-2, rouge-l
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    finish_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProbeSet(Timestamped, Base):
    """A stored, reusable set of evaluation probes (what the model is asked): held-out, reworded, key-fact,
    user or general questions, each in one question type. `params` says how it was built, `counts` what was
    built and what was dropped (leakage or other reasons) per kind — leakage is reported, never hidden."""

    __tablename__ = "probe_sets"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_probe_sets_project_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)  # held_out | reworded | key_fact | user | general
    language: Mapped[str] = mapped_column(String(10), default="zh")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # how it was built (never secrets)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"built": n, "dropped_leakage": n, ...}


class Probe(Base):
    """One question put to a model. `kind` is the set it came from, `qtype` how it is asked; choice probes
    hold their `options` and the correct `answer` (option indices; a bool for true/false)."""

    __tablename__ = "probes"
    __table_args__ = (UniqueConstraint("probe_set_id", "position", name="uq_probes_set_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    probe_set_id: Mapped[int] = mapped_column(ForeignKey("probe_sets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # held_out | reworded | key_fact | user | general
    qtype: Mapped[str] = mapped_column(String(20), default="open")  # open | short | true_false | single_choice | multiple_choice
    question: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(Text, default="")
    key: Mapped[str | None] = mapped_column(Text, nullable=True)  # the checkable value in the reference
    key_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)  # number | percent | amount | date | name ...
    options: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # choice probes: the option texts
    answer: Mapped[Any | None] = mapped_column(JSON, nullable=True)  # list[int] for choice, bool for true/false
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), nullable=True)
    chunk_id: Mapped[int | None] = mapped_column(ForeignKey("chunks.id", ondelete="SET NULL"), nullable=True)
    dataset_item_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_items.id", ondelete="SET NULL"), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(300), nullable=True)
    source_question: Mapped[str | None] = mapped_column(Text, nullable=True)  # the training question it derives from
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # source, prompt name+hash, model, created
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The tables of the data modes of issue 15 (images, distillation trees, genre–audience pairs, question templates).
from loreforge.store.mode_models import DistillTag, GaPair, Image, PdfPage, QuestionTemplate  # noqa: E402, F401
# The tables of web UI part 2 (issue 14): blind tests and background model servers.
from loreforge.store.arena_models import ArenaRound, ArenaTest, ModelServer  # noqa: E402, F401
