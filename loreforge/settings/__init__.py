"""Every default of LoreForge lives here.

Two layers:
- `AppConfig`: where data lives and how to reach the database (environment: LOREFORGE_HOME,
  LOREFORGE_DATABASE_URL).
- `ProjectSettings`: the per-project task settings (split strategy, chunk lengths, question density, ...).
  A project stores only the keys it overrides; `effective_settings` merges them over these defaults and
  reports where each value comes from. Keys are dotted names such as `split.max_length`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loreforge.errors import ConfigError
from loreforge.settings.engine import RunnerSettings
from loreforge.settings.evaluation import EvalSettings
from loreforge.settings.modes import DialogueSettings, DistillSettings, GaSettings, ImageSettings, PdfSettings
from loreforge.settings.probes import ProbeSettings

SplitStrategy = Literal["markdown", "recursive", "fixed", "token", "custom"]
SPLIT_STRATEGIES: tuple[str, ...] = ("markdown", "recursive", "fixed", "token", "custom")

DEFAULT_SEPARATORS: list[str] = [
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    ". ",
    "! ",
    "? ",
    "; ",
    "，",
    ", ",
    " ",
    "",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SplitSettings(_Section):
    strategy: SplitStrategy = Field(
        "markdown",
        description="How documents are cut into chunks: markdown (heading-aware), recursive (separator "
        "priority list), fixed (size + overlap), token (size + overlap in tokens), custom (a separator string).",
    )
    min_length: int = Field(
        800, ge=0, le=100_000, description="Shortest chunk in characters; shorter pieces are merged with neighbours."
    )
    max_length: int = Field(
        1500, ge=20, le=200_000, description="Longest chunk in characters (a single indivisible unit may exceed it)."
    )
    chunk_size: int = Field(
        1200,
        ge=10,
        le=200_000,
        description="Target chunk size for fixed/recursive splitting (characters) and token splitting (tokens).",
    )
    overlap: int = Field(
        0,
        ge=0,
        le=50_000,
        description="Characters (tokens for `token`) repeated from the previous chunk; recursive, fixed and token "
        "strategies only (markdown and custom never repeat text).",
    )
    separators: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SEPARATORS),
        description="Separator priority list for recursive splitting (JSON list of strings).",
    )
    custom_separator: str = Field(
        "---", min_length=1, description="The separator string for the custom strategy (it is kept in the text)."
    )
    tokenizer: str | None = Field(
        None,
        description="Local path to a tokenizer (tokenizer.json or a folder holding one) for token splitting. "
        "Nothing is downloaded; without one, token sizes are estimated from characters.",
    )

    @model_validator(mode="after")
    def _check_lengths(self) -> "SplitSettings":
        if self.min_length > self.max_length:
            raise ValueError(
                f"split.min_length ({self.min_length}) must not exceed split.max_length ({self.max_length})"
            )
        if self.overlap >= self.chunk_size:
            raise ValueError(f"split.overlap ({self.overlap}) must be smaller than split.chunk_size ({self.chunk_size})")
        return self


class QuestionSettings(_Section):
    chars_per_question: int = Field(
        240, ge=10, le=100_000, description="One question per this many characters of chunk text."
    )
    max_per_chunk: int = Field(20, ge=1, le=200, description="Most questions asked of one chunk.")
    remove_question_mark_probability: float = Field(
        0.0, ge=0, le=1, description="Probability of dropping a question's trailing question mark (data variety)."
    )
    dedup_threshold: float = Field(
        0.85,
        ge=0.5,
        le=1.0,
        description="Character n-gram similarity at or above which a new question counts as a near-duplicate.",
    )


class AnswerSettings(_Section):
    mode: Literal["batched", "per-question"] = Field(
        "batched",
        description="batched: all questions of a chunk answered in one call (far fewer tokens); "
        "per-question: one call per question.",
    )
    cot: Literal["auto", "ask", "off"] = Field(
        "auto",
        description="Chain of thought: auto keeps the model's own reasoning when it returns some; ask wants one on "
        "every answer: asked for in the answer call itself, and answers that still come without one get it from one "
        "extra call per chunk (never one per answer); off keeps none. Citation phrasing is taken out of every chain "
        "of thought by rule.",
    )


class TagSettings(_Section):
    mode: Literal["rebuild", "revise", "keep"] = Field(
        "revise",
        description="Domain tag tree on `tags build`: rebuild from scratch, revise with minimal changes, or keep.",
    )


class LLMSettings(RunnerSettings):
    """The runner's settings (concurrency, rate limits, retries: one source, `RunnerSettings`) as a project sets
    them, plus the timeout of one request."""

    timeout_s: float = Field(180.0, gt=0, le=3600, description="Timeout of one LLM request attempt, seconds.")


class IngestSettings(_Section):
    max_file_mb: float = Field(
        200.0, gt=0, le=100_000, description="Largest file accepted for ingestion, in megabytes."
    )
    max_unpacked_mb: float = Field(
        1024.0,
        gt=0,
        le=1_000_000,
        description="Largest total uncompressed size of a DOCX/EPUB archive, in megabytes (zip-bomb guard).",
    )


class ProjectSettings(_Section):
    """The per-project task settings. Every default of the pipeline's task settings is here."""

    split: SplitSettings = Field(default_factory=SplitSettings)
    questions: QuestionSettings = Field(default_factory=QuestionSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    tags: TagSettings = Field(default_factory=TagSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    probes: ProbeSettings = Field(default_factory=ProbeSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    ga: GaSettings = Field(default_factory=GaSettings)
    dialogues: DialogueSettings = Field(default_factory=DialogueSettings)
    distill: DistillSettings = Field(default_factory=DistillSettings)
    images: ImageSettings = Field(default_factory=ImageSettings)
    pdf: PdfSettings = Field(default_factory=PdfSettings)
    language: Literal["zh", "en"] = Field("zh", description="Language of prompts and generated data: zh or en.")


@dataclass(frozen=True)
class SettingInfo:
    key: str
    value: Any
    default: Any
    source: Literal["default", "project"]
    description: str
    allowed: str


def _field_allowed(field: Any) -> str:
    ann = field.annotation
    args = getattr(ann, "__args__", None)
    if getattr(ann, "__origin__", None) is Literal or (args and all(isinstance(a, str) for a in args)):
        return " | ".join(str(a) for a in args or ())
    lo = hi = None
    for meta in field.metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        lo = getattr(meta, "gt", None) if getattr(meta, "gt", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
    if lo is not None or hi is not None:
        text = f"{lo if lo is not None else '-inf'} .. {hi if hi is not None else 'inf'}"
        return text + (", or none" if type(None) in (args or ()) else "")
    if set(args or ()) == {str, type(None)}:
        return "text, or none"
    name = getattr(ann, "__name__", str(ann))
    return {"list": "JSON list of strings", "str": "text"}.get(name, str(ann).replace("typing.", ""))


def setting_keys() -> dict[str, tuple[type[BaseModel] | None, str]]:
    """Map every dotted key to (section model or None for top-level, field name)."""
    keys: dict[str, tuple[type[BaseModel] | None, str]] = {}
    for name, field in ProjectSettings.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for sub in ann.model_fields:
                keys[f"{name}.{sub}"] = (ann, sub)
        else:
            keys[name] = (None, name)
    return keys


def _field_of(key: str) -> Any:
    section, name = setting_keys()[key]
    return (section or ProjectSettings).model_fields[name]


def _nearest(key: str, choices: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
    return match[0] if match else None


def check_key(key: str) -> None:
    keys = list(setting_keys())
    if key not in keys:
        near = _nearest(key, keys)
        raise ConfigError(
            f"Unknown setting '{key}'",
            expected="one of " + ", ".join(keys),
            hint=f"Did you mean '{near}'?" if near else "Run `loreforge settings show PROJECT` to list them",
        )


def parse_value(key: str, raw: Any) -> Any:
    """Turn a CLI/API value (often a string) into the type the key needs; validation happens later."""
    check_key(key)
    if not isinstance(raw, str):
        return raw
    ann = str(_field_of(key).annotation)
    if "list" in ann:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # a syntax error, a number too long to convert, nesting too deep
            raise ConfigError(
                f"Setting '{key}' needs a JSON list of strings",
                got=repr(raw),
                hint='Write it like \'["\\n\\n", "\\n", "。"]\'',
            ) from None
        return value
    if ("None" in ann or "Optional" in ann) and raw.strip().lower() in ("", "none", "null"):
        return None
    return raw


def build_settings(overrides: dict[str, Any]) -> ProjectSettings:
    """Validate dotted-key overrides over the defaults; errors name the key and the allowed values."""
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        check_key(key)
        section, name = setting_keys()[key]
        if section is None:
            nested[name] = value
        else:
            nested.setdefault(key.split(".", 1)[0], {})[name] = value
    try:
        return ProjectSettings.model_validate(nested)
    except ValidationError as exc:
        raise _config_error(exc) from None


def _config_error(exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ()) if not str(p).isdigit()]
    key = ".".join(loc)
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    if key in setting_keys():
        return ConfigError(
            f"Invalid value for setting '{key}'",
            expected=_field_allowed(_field_of(key)),
            got=repr(err.get("input")),
            hint=msg,
        )
    return ConfigError("Invalid settings", got=msg, hint="Check the values with `loreforge settings show PROJECT`")


def flatten(settings: ProjectSettings) -> dict[str, Any]:
    data = settings.model_dump()
    flat: dict[str, Any] = {}
    for key, (section, name) in setting_keys().items():
        flat[key] = data[key.split(".", 1)[0]][name] if section else data[name]
    return flat


def describe(overrides: dict[str, Any]) -> list[SettingInfo]:
    """Every setting with its effective value, default and where it comes from."""
    effective = flatten(build_settings(overrides))
    defaults = flatten(ProjectSettings())
    rows = []
    for key in setting_keys():
        field = _field_of(key)
        rows.append(
            SettingInfo(
                key=key,
                value=effective[key],
                default=defaults[key],
                source="project" if key in overrides else "default",
                description=field.description or "",
                allowed=_field_allowed(field),
            )
        )
    return rows


@dataclass(frozen=True)
class AppConfig:
    """Where LoreForge keeps its data. Read from the environment once per process (or passed explicitly)."""

    home: Path
    database_url: str

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None) -> "AppConfig":
        root = Path(home or os.environ.get("LOREFORGE_HOME") or Path.home() / ".loreforge").expanduser()
        url = os.environ.get("LOREFORGE_DATABASE_URL") or f"sqlite:///{(root / 'loreforge.db').as_posix()}"
        return cls(home=root, database_url=url)

    @property
    def projects_dir(self) -> Path:
        return self.home / "projects"


# Defaults of the server and listings (not per-project) live in the import-free loreforge.defaults.
from loreforge.defaults import DEFAULT_HOST, DEFAULT_PAGE_SIZE, DEFAULT_PORT, MAX_PAGE_SIZE  # noqa: E402, F401

