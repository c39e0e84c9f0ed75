"""A recipe: what `loreforge run RECIPE.yaml` takes from documents to a tuned, evaluated model — the documents,
split settings, the generation model, the review policy, export options, training (LLaMA Factory keys), probes
and evaluation. Read from YAML (or built from `loreforge run --docs ... --model ...`) and validated as a whole
before any work starts: an unknown key is named with the nearest valid one, a bad value with its key path and
what is allowed, a missing document folder or model path with the path as written. Every key is described here
(docs/recipes.md is generated from these models: `python -m loreforge.pipeline.doc`).

Settings-bearing sections (`split`, `generation.questions`, `generation.answers`, `generation.llm`, `tags`,
`probes`, `eval`, and `settings` for any other dotted key) use the project settings' own names and limits
(docs/settings.md); they are written to the project when the run starts, so `loreforge settings show` tells the
truth about a project a recipe made. Keys a recipe does not name keep the project's values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PROVIDER = "extractive"
STARTER = "starter"  # train.model_name_or_path / eval.base: the starter model (SmolLM2-135M-Instruct, offline)
GENERATION = "generation"  # the name of the generation section's model config


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """An LLM reached through a provider preset: what `loreforge models add` takes."""

    provider: str = Field(DEFAULT_PROVIDER, description="A provider preset (`loreforge models presets`): extractive "
                          "(offline, no LLM), dashscope, openai, deepseek, ollama, custom (any OpenAI-compatible URL), "
                          "local (a Hugging Face model in this process), ...")
    model: str = Field("", description="The model's name at the provider, e.g. qwen-max-latest (not needed for extractive).")
    base_url: str | None = Field(None, description="The endpoint's base URL (custom providers; presets know theirs).")
    api_key_env: str | None = Field(None, description="Name of the environment variable holding the API key (never "
                                    "the key itself). Default: the preset's, e.g. DASHSCOPE_API_KEY.")
    options: dict[str, Any] = Field(default_factory=dict, description="Request options: temperature, max_tokens, "
                                    "top_p, extra_body, ...")


class GenerationSection(ModelSpec):
    """Questions and answers: the model that writes them and the settings of the two stages."""

    tags: bool = Field(True, description="Build the two-level domain tag tree from the documents' headings first.")
    questions: dict[str, Any] = Field(default_factory=dict, description="Project settings `questions.*`: "
                                      "chars_per_question, max_per_chunk, dedup_threshold, ...")
    answers: dict[str, Any] = Field(default_factory=dict, description="Project settings `answers.*`: mode "
                                    "(batched | per-question), cot (auto | ask | off).")
    llm: dict[str, Any] = Field(default_factory=dict, description="Project settings `llm.*`: concurrency, "
                                "requests_per_minute, max_attempts, timeout_s, ...")


class ReviewSection(_Strict):
    """Which generated pairs become the training data (the export takes confirmed pairs)."""

    confirm: Literal["policy", "keep"] = Field("policy", description="policy: confirm exactly the pairs that pass "
                                               "the checks below and unconfirm the rest; keep: leave confirmation as "
                                               "it is in the project (you review by hand).")
    require_grounded: bool = Field(True, description="Run the grounding check and confirm only pairs whose every "
                                   "figure, date and name is in their chunk.")
    min_score: float | None = Field(None, ge=0, le=5, description="Score every pair 0-5 with an LLM judge and "
                                    "confirm only those scoring at least this (needs an LLM, not extractive).")
    score_model: str | None = Field(None, description="The model config that scores: `generation` or a name under "
                                    "`models` (default: generation).")
    dedup_threshold: float | None = Field(None, ge=0.5, le=1.0, description="Remove near-identical pairs at or above "
                                          "this similarity before confirming (none: keep them).")


class ExportSection(_Strict):
    """The LLaMA Factory bundle the run trains on (dataset_info.json, alpaca.json, sharegpt.json, train_lora.yaml)."""

    val_size: float = Field(0.1, ge=0, lt=1, description="Share of the pairs held out as the validation set "
                            "(0: none). Probes of kind held-out come from it.")
    split_by: Literal["chunk", "document"] = Field("chunk", description="Keep all pairs of one chunk (or document) "
                                                   "on the same side of the split.")
    seed: int = Field(42, description="Seed of the validation split (and of the probes' split, the same).")
    cot: Literal["think", "field", "none"] = Field("think", description="Chain of thought in the export: inside "
                                                   "<think> tags, as its own field, or left out.")
    system_prompt: str | None = Field(None, description="A system prompt written into every example.")
    balance_per_tag: int | None = Field(None, ge=1, description="At most this many pairs per tag.")


class TrainSection(BaseModel):
    """LLaMA Factory SFT keys (docs/training.md), on top of the exported bundle's `train_lora.yaml`; `dataset`,
    `dataset_dir` and `output_dir` are the run's own. `model_name_or_path: starter` is the starter model."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model_name_or_path: str = Field(description="The base model: a folder, a .gguf file, a hub id (Qwen/Qwen2.5-"
                                    "3B-Instruct; ModelScope with USE_MODELSCOPE_HUB=1) or `starter`.")
    launch: dict[str, Any] | None = Field(None, description="Several processes (GPUs) under torchrun: "
                                          "nproc_per_node, nnodes, node_rank, master_addr, master_port.")


class ProbesSection(_Strict):
    """What the evaluation asks: sets built from the dataset, split as the export splits it, and your own files."""

    kinds: list[Literal["held-out", "reworded", "key-fact", "general"]] = Field(
        default_factory=list, description="Probe kinds built from the dataset: held-out (validation pairs), "
        "reworded (trained facts reworded by an LLM), key-fact (trained questions, their key value), general "
        "(the shipped general-knowledge set: what training may break).")
    qtypes: list[Literal["open", "short", "true-false", "single-choice", "multiple-choice"]] = Field(
        default_factory=lambda: ["open"], description="How each probe is asked.")
    files: list[str] = Field(default_factory=list, description="Your own probes (JSONL or CSV: question, reference, "
                             "key, ...), each imported as a set; paths relative to the recipe.")
    size: int | None = Field(None, ge=1, description="Most base questions per kind (project setting probes.size).")
    rotations: int | None = Field(None, ge=1, le=10, description="Orders a choice probe is asked in.")
    leakage_threshold: float | None = Field(None, ge=0, le=1, description="Similarity to a training question at "
                                            "or above which a probe is dropped (and counted).")
    model: str | None = Field(None, description="The model config that rewords: `generation` or a name under "
                              "`models` (default: generation).")


class EvalSection(_Strict):
    """Base vs tuned on every probe set, greedy, with intervals and the paired test; the report."""

    base: str | None = Field(None, description="The base model (default: train.model_name_or_path).")
    tuned: str | None = Field(None, description="A model config name under `models` to evaluate instead of the "
                              "run's own trained model (e.g. a vLLM endpoint serving it).")
    rag: bool = Field(False, description="Also the base model with the top-k BM25 chunks in its prompt.")
    judge: str | None = Field(None, description="A model config (under `models`) scoring free answers 0-1.")
    max_new_tokens: int | None = Field(None, ge=1, le=8192, description="Project setting eval.max_new_tokens.")
    batch_size: int | None = Field(None, ge=1, le=1024, description="Project setting eval.batch_size.")
    rag_k: int | None = Field(None, ge=1, le=50, description="Project setting eval.rag_k.")
    temperature: float | None = Field(None, ge=0, le=2, description="Project setting eval.temperature (0: greedy).")


class Recipe(_Strict):
    """One run from documents to a tuned, evaluated model."""

    name: str = Field("", description="The run's name (default: the recipe file's name). Running a recipe of the "
                      "same name and project again continues that run.")
    project: str = Field("", description="The project (created when missing; default: the run's name).")
    description: str = Field("", description="What the run is for (shown in lists).")
    documents: list[str] = Field(min_length=1, description="Files, folders (their .txt .md .html .docx .pdf .epub "
                                 "files, recursively) or glob patterns; relative to the recipe file.")
    language: Literal["zh", "en"] | None = Field(None, description="Language of prompts and generated data "
                                                 "(project setting `language`).")
    split: dict[str, Any] = Field(default_factory=dict, description="Project settings `split.*`: strategy, "
                                  "min_length, max_length, chunk_size, overlap, ...")
    generation: GenerationSection = Field(default_factory=GenerationSection, description="The model that writes "
                                          "questions and answers (default: extractive, offline) and those stages' settings.")
    models: dict[str, ModelSpec] = Field(default_factory=dict, description="Other model configs by name "
                                         "(a judge, a scorer, an endpoint serving the tuned model).")
    review: ReviewSection = Field(default_factory=ReviewSection, description="Which pairs are confirmed (what trains).")
    export: ExportSection = Field(default_factory=ExportSection, description="The LLaMA Factory bundle: validation split, "
                                  "chain of thought, system prompt.")
    train: TrainSection | None = Field(None, description="Fine-tuning; leave out to stop after the dataset.")
    probes: ProbesSection | None = Field(None, description="Probe sets; leave out for no evaluation.")
    eval: EvalSection | None = Field(None, description="Evaluation (needs train or eval.tuned, and probes).")
    settings: dict[str, Any] = Field(default_factory=dict, description="Any other project setting by dotted key "
                                     "(docs/settings.md), e.g. ingest.max_file_mb.")
    output_dir: str | None = Field(None, description="The run folder (default: the project's folder/pipeline/NAME); "
                                   "relative to the recipe.")


SECTION_MODELS: dict[str, type[BaseModel]] = {
    "": Recipe, "generation": GenerationSection, "models.*": ModelSpec, "review": ReviewSection,
    "export": ExportSection, "train": TrainSection, "probes": ProbesSection, "eval": EvalSection,
}


def base_dir(path: Path | None) -> Path:
    """Where a recipe's relative paths start: its file's folder, or the working directory."""
    return path.resolve().parent if path is not None else Path.cwd()
