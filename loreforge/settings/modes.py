"""Defaults of the data modes of issue 15 — genre–audience pairs (`ga.`), multi-turn dialogues (`dialogues.`),
distillation (`distill.`), images (`images.`) and PDF conversion (`pdf.`). Part of the one settings object
(`loreforge.settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GaSettings(_Section):
    pairs: int = Field(5, ge=1, le=20, description="Genre–audience pairs proposed per document by `ga generate`.")
    max_chars: int = Field(
        50_000, ge=1000, le=1_000_000,
        description="Most characters of a document sent to propose its genre–audience pairs (its beginning).",
    )
    use_in_questions: bool = Field(
        True,
        description="Question generation multiplies by the document's active genre–audience pairs (N questions per "
        "pair, in the pair's style, in one call per chunk); false: pairs are ignored.",
    )


class DialogueSettings(_Section):
    rounds: int = Field(3, ge=1, le=20, description="Rounds (a user message and the assistant's reply) of a dialogue.")
    mode: Literal["whole", "turns"] = Field(
        "whole",
        description="whole: the whole dialogue in one call (a reply that cannot be used falls back to turns); turns: "
        "one call per round (the reply and the next user message together).",
    )
    user_role: str = Field("user", min_length=1, max_length=100, description="Who asks, as the prompt names them.")
    assistant_role: str = Field("assistant", min_length=1, max_length=100, description="Who answers, as the prompt names them.")
    scenario: str = Field("", max_length=2000, description="The dialogue's setting, told to the model (empty: none).")
    system_prompt: str = Field("", max_length=10_000, description="The system prompt stored with each dialogue (empty: none).")


class DistillSettings(_Section):
    levels: int = Field(2, ge=1, le=5, description="Levels of sub-tags under a distillation topic.")
    tags_per_level: int = Field(5, ge=1, le=50, description="Sub-tags made under each tag of a distillation tree.")
    questions_per_leaf: int = Field(5, ge=1, le=100, description="Questions asked of each leaf tag of a distillation tree.")
    max_tags_per_call: int = Field(
        60, ge=1, le=1000,
        description="Most tags one call may make: a tag whose whole subtree fits is expanded to the bottom in one call, "
        "else one level per call.",
    )
    mode: Literal["single", "multi", "both"] = Field(
        "single", description="What `distill run` makes of the questions: single-turn answers, multi-turn dialogues, or both.",
    )


class ImageSettings(_Section):
    max_file_mb: float = Field(20.0, gt=0, le=10_000, description="Largest image file accepted, in megabytes.")
    max_pixels: int = Field(
        80_000_000, ge=10_000, le=1_000_000_000,
        description="Most pixels (width × height, read from the header before decoding) an image may have: the "
        "decompression-bomb guard.",
    )
    questions_per_image: int = Field(3, ge=1, le=50, description="Questions (with their answers) a vision model writes per image.")
    max_side: int = Field(
        1600, ge=64, le=8192,
        description="Longest side, in pixels, of an image as sent to the vision model (larger ones are scaled down for the "
        "call; the stored file is unchanged).",
    )
    pdf_dpi: int = Field(144, ge=36, le=600, description="Resolution of PDF pages rendered as images.")


class PdfSettings(_Section):
    strategy: Literal["vision", "mineru-api", "mineru-local"] = Field(
        "vision",
        description="How `pdf convert` turns a PDF into Markdown: vision (each page rendered and read by the vision model, "
        "then one call that repairs the heading levels), mineru-api (the MinerU cloud API), mineru-local (a local MinerU "
        "server's file_parse). Plain `ingest` extracts the text layer.",
    )
    repair_headings: bool = Field(True, description="vision: one more call that repairs the heading hierarchy across pages.")
    mineru_api_url: str = Field("https://mineru.net", min_length=1, description="The MinerU API's base URL.")
    mineru_model: str = Field("vlm", min_length=1, description="The MinerU API's model_version (pipeline or vlm).")
    mineru_token_env: str = Field(
        "MINERU_API_TOKEN", min_length=1,
        description="Environment variable holding the MinerU API token when none is stored (`loreforge pdf mineru-key`).",
    )
    mineru_local_url: str = Field("http://127.0.0.1:8000", min_length=1, description="A local MinerU server (`mineru-api`).")
    mineru_timeout_s: float = Field(900.0, gt=0, le=86_400, description="Longest wait for MinerU to convert one file, seconds.")
    mineru_poll_s: float = Field(3.0, gt=0, le=600, description="Seconds between two looks at a MinerU API task.")
