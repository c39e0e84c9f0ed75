"""The typed options of the export stage: every export default lives here.

`ExportOptions` says which record layout, file type, chain-of-thought handling, system prompt, split and
balancing an export uses; `TrainRecipe` holds the LoRA hyperparameters written into the LLaMA Factory
bundle's `train_lora.yaml`. Both are frozen pydantic models; `make_options` turns a pydantic validation
failure into a `ConfigError` whose text a user can act on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loreforge.defaults import DEFAULT_VAL_SIZE, EXPORT_FORMATS, EXPORT_TARGETS, FILE_TYPES
from loreforge.errors import ConfigError

ExportFormat = Literal["alpaca", "sharegpt", "sharegpt-messages", "messages", "custom", "multilingual-thinking"]
FileType = Literal["json", "jsonl", "csv", "parquet", "hf"]
CotMode = Literal["think", "field", "none"]
SplitBy = Literal["document", "chunk"]

TARGETS = EXPORT_TARGETS
CUSTOM_FIELD_KEYS: tuple[str, ...] = ("question", "answer", "cot", "system", "tag", "history")


class ExportOptions(BaseModel):
    """How one export lays out and selects its records.

    - `format`: the record layout (see `loreforge.export.formats` for the fields of each).
    - `file_type`: json (one array), jsonl, csv, parquet, or hf (a `datasets` save_to_disk folder).
    - `cot`: "think" prefixes the answer with `<think>cot</think>\\n\\n`, "field" writes the CoT in its own
      field, "none" leaves it out.
    - `val_size`: share of items for the validation split (0 = no split), grouped by `split_by` so that no
      chunk (or document) feeds both sides; `seed` drives the split and the balancing.
    - `balance_per_tag`: keep at most this many items per tag (seeded random sample), or all when None.
    - `custom_fields`: output field names for the "custom" format, keyed by question/answer/cot/system/tag/
      history; question and answer are always written, tag only when named here.
    - `include_history`: write earlier turns of multi-turn items (alpaca `history`, extra chat messages).
    - `reasoning_language`: the `reasoning_language` field of the multilingual-thinking layout.
    - `with_images`: the selection holds image QA items (the export service sets it): alpaca and sharegpt records
      get an `images` list (empty for text items), chat messages of an image item get image content parts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: ExportFormat
    file_type: FileType = "json"
    cot: CotMode = "none"
    system_prompt: str = ""
    val_size: float = Field(default=DEFAULT_VAL_SIZE, ge=0.0, lt=1.0)
    split_by: SplitBy = "chunk"
    seed: int = 42
    balance_per_tag: int | None = Field(default=None, ge=1)
    custom_fields: dict[str, str] = Field(default_factory=dict)
    include_history: bool = False
    reasoning_language: str = "English"
    with_images: bool = False

    @field_validator("custom_fields")
    @classmethod
    def _check_custom_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CUSTOM_FIELD_KEYS))
        if unknown:
            raise ValueError(f"unknown custom field key(s) {unknown}; allowed: {list(CUSTOM_FIELD_KEYS)}")
        empty = sorted(k for k, v in value.items() if not v.strip())
        if empty:
            raise ValueError(f"custom field name(s) for {empty} are empty")
        names = list(value.values())
        if len(set(names)) != len(names):
            raise ValueError(f"custom field names must differ, got {names}")
        return value


class TrainRecipe(BaseModel):
    """The reference LoRA SFT recipe written to the LLaMA Factory bundle's `train_lora.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_name_or_path: str = "MODEL_PATH"
    stage: str = "sft"
    finetuning_type: str = "lora"
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target: str = "all"
    template: str = "qwen"
    cutoff_len: int = 1024
    learning_rate: float = 1.0e-4
    lr_scheduler_type: str = "cosine"
    num_train_epochs: float = 8.0
    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 16
    bf16: bool = True
    output_root: str = "saves"
    logging_steps: int = 5
    save_steps: int = 20
    eval_steps: int = 20
    per_device_eval_batch_size: int = 2
    load_best_model_at_end: bool = True  # with a validation split: keep the checkpoint of lowest eval loss
    report_to: str = "none"

    @model_validator(mode="after")
    def _check_steps(self) -> TrainRecipe:
        if self.load_best_model_at_end and self.save_steps % self.eval_steps:
            raise ValueError(
                f"save_steps ({self.save_steps}) must be a multiple of eval_steps ({self.eval_steps}) "
                "when load_best_model_at_end is set"
            )
        return self


def make_options(**values: Any) -> ExportOptions:
    """Build `ExportOptions`, raising `ConfigError` (not a pydantic error) when a value is invalid."""
    try:
        return ExportOptions(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            "Invalid export options",
            got=problems,
            hint=f"Formats: {', '.join(EXPORT_FORMATS)}; file types: {', '.join(FILE_TYPES)}",
        ) from exc
