"""What the model half's newer actions return (issue 14: train, evaluate, compare and chat from the web UI, and
the same from the CLI and the API): a run's curve, log, checkpoints and first example; two runs side by side; the
devices' live memory and load; the training config preview; a chat answer; blind tests; background model
servers; an evaluation's full report. Typed, JSON-ready views beside `loreforge.views`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from loreforge.views import EvalRunView, TrainRunView


class CheckpointView(BaseModel):
    name: str
    path: str
    step: int
    complete: bool = Field(description="Whether a run can resume from it (trainer_state.json and whole weights)")
    problem: str | None = Field(None, description="Why it cannot be resumed from")
    best: bool = Field(False, description="The checkpoint of the lowest eval loss (the run's best checkpoint)")
    eval_loss: float | None = None
    size_mb: float = 0.0


class RunDetailView(BaseModel):
    """A train run with what its output folder says: the loss curve (LLaMA Factory's `trainer_log.jsonl` lines),
    the log tail, the checkpoints (the best one marked), tokens/s, and the tokenized first example."""

    run: TrainRunView
    points: list[dict[str, Any]] = Field(description="trainer_log.jsonl records from index `after` on")
    point_count: int = Field(description="Records in trainer_log.jsonl (the next `after`)")
    log: list[str] = Field([], description="The log's last lines (or those after `log_from`)")
    log_offset: int = Field(0, description="Bytes of the log read so far (the next `log_from`)")
    checkpoints: list[CheckpointView] = []
    tokens_per_second: float | None = Field(None, description="The latest throughput the trainer logged")
    total_tokens: int | None = None
    example: str | None = Field(None, description="The first training example: input ids, text, label ids, labels "
                                "with masked spans as [-100 x N], as LLaMA Factory prints it")
    plots: list[str] = Field([], description="Loss plots in the output folder (training_loss.png, ...)")


class RunCompareView(BaseModel):
    """Two train runs side by side: each one's curve and the settings where they differ (then those they share)."""

    a: TrainRunView
    b: TrainRunView
    points_a: list[dict[str, Any]]
    points_b: list[dict[str, Any]]
    settings: list[dict[str, Any]] = Field(description="key, a, b, same")


class DeviceStat(BaseModel):
    index: int
    name: str
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None
    utilization: float | None = Field(None, description="Compute load in percent")
    temperature: float | None = None


class DeviceUsageView(BaseModel):
    """The accelerators' memory and load now (nvidia-smi, rocm-smi or torch's counters), and the host's CPU and
    memory."""

    source: str = Field(description="nvidia-smi, rocm-smi, torch or none")
    devices: list[DeviceStat] = []
    cpu_percent: float | None = None
    cpus: int = 0
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None
    load_average: list[float] = []
    at: datetime
    note: str = ""


class TrainPreviewView(BaseModel):
    """A training config as `loreforge train` runs it: checked, and as YAML (keys in LLaMA Factory's sections)."""

    config: dict[str, Any]
    yaml: str
    sections: dict[str, list[str]] = Field({}, description="Section title -> keys, the YAML's order")


class ChatReplyView(BaseModel):
    model: str = Field(description="What answered: base, base + adapter, a tuned folder or a model config")
    text: str
    reasoning: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    finish_reason: str | None = None


class ArenaModel(BaseModel):
    """One side of a blind test: a local model (`base`, with `tuned` a run's or a folder's weights) or a model
    config of the project (`config`)."""

    kind: str = Field(description="local or endpoint")
    name: str
    base: str | None = None
    tuned: str | None = None
    config: str | None = None
    run_id: int | None = None


class ArenaView(BaseModel):
    id: int
    project_id: int
    project: str | None = None
    name: str
    models: dict[str, ArenaModel] = Field(description="a and b")
    probe_sets: list[str] = []
    config: dict[str, Any] = {}
    rounds: int = Field(0, description="Probes in the test")
    voted: int = 0
    results: dict[str, Any] = Field({}, description="Votes per outcome, each model's win rate among decided votes "
                                    "and 'good' rate with 95% Wilson intervals, and the sign test's p")
    created_at: datetime


class ArenaRoundView(BaseModel):
    """One round as the user sees it: the question and the two answers as left and right. Which model is which
    (`revealed`) and the reference come only once the vote is stored."""

    id: int
    arena_id: int
    position: int = Field(description="1-based")
    total: int
    question: str
    left: str | None = Field(None, description="The left answer, once generated")
    right: str | None = None
    vote: str | None = None
    revealed: dict[str, Any] | None = Field(None, description="left, right: the models' names; winner")
    reference: str | None = None


class ModelServerView(BaseModel):
    id: int
    project_id: int | None = None
    run_id: int | None = None
    base: str
    models: dict[str, str] = Field(description="Served name -> what it serves")
    host: str
    port: int
    url: str = Field(description="The OpenAI-compatible base URL (…/v1)")
    status: str = Field(description="starting, ready, stopped or exited")
    pid: int | None = None
    hostname: str
    log_file: str
    log_tail: list[str] = []
    error: str | None = None
    created_at: datetime
    stopped_at: datetime | None = None


class EvalReportView(BaseModel):
    """An evaluation run's whole report, computed from its stored answers (partial while it runs): accuracy per
    model, set, kind, question type, document and tag with intervals, the paired comparisons, the regressions,
    the general-knowledge losses and the largest wins with both answers and the reference."""

    run: EvalRunView
    models: dict[str, str] = Field(description="label (base, rag, tuned) -> what it is")
    summary: dict[str, Any]
