"""Defaults of evaluation runs (`loreforge eval`): how the models are asked (greedy, how many new tokens, how many
prompts per batch), how many chunks the retrieval baseline puts in the prompt, and how many judge calls run at
once. Part of the one settings object (`loreforge.settings`, key prefix `eval.`); an eval run records the values
it used in its `config`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_new_tokens: int = Field(
        64, ge=1, le=8192,
        description="Most tokens a model may write per answer (a choice or true/false answer needs a few; an open "
        "answer stating one fact a few dozen).",
    )
    batch_size: int = Field(
        16, ge=1, le=1024,
        description="Prompts generated together by a local model (left padding); results are stored after each batch, "
        "so an interrupted run resumes there.",
    )
    temperature: float = Field(
        0.0, ge=0, le=2,
        description="Sampling temperature of the answers; 0 is greedy decoding (reproducible, the default).",
    )
    rag_k: int = Field(3, ge=1, le=50, description="Chunks BM25 puts in the base model's prompt with --rag.")
    judge_concurrency: int = Field(4, ge=1, le=256, description="Judge calls in flight at once (with --judge).")
    top_examples: int = Field(20, ge=1, le=1000, description="Largest wins and regressions shown side by side in the report.")
