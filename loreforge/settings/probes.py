"""Defaults of probe building (`loreforge probes build`): how many probes of each kind, how choice probes are
made and asked, and when a probe counts as leaked from the training data. Part of the one settings object
(`loreforge.settings`, key prefix `probes.`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

QTYPE_NAMES: tuple[str, ...] = ("open", "short", "true_false", "single_choice", "multiple_choice")  # probe question types


class ProbeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    size: int = Field(
        200, ge=1, le=100_000,
        description="Most base questions drawn per probe kind (a seeded sample when there are more); each is asked "
        "in every question type.",
    )
    qtypes: list[str] = Field(
        default_factory=lambda: ["open", "single_choice"],
        description="Question types built by default (JSON list of open, short, true_false, single_choice, "
        "multiple_choice); --qtypes overrides.",
    )
    leakage_threshold: float = Field(
        0.7, gt=0, le=1,
        description="Character-trigram Jaccard similarity to any training question at or above which a probe "
        "counts as leaked: it is dropped and counted (key-fact probes, which ask trained questions on purpose, "
        "are exempt).",
    )
    options: int = Field(4, ge=2, le=10, description="Options of a choice probe (the correct one or ones plus distractors).")
    rotations: int | None = Field(
        None, ge=1, le=10,
        description="Orders each choice probe is asked in (cyclic shifts of its options, each putting the answer "
        "elsewhere); none = as many as it has options. Counted right only if right in all.",
    )

    @field_validator("qtypes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in QTYPE_NAMES]
        if unknown or not value:
            raise ValueError(f"probes.qtypes takes a non-empty list of {', '.join(QTYPE_NAMES)}; got {unknown or value}")
        return value
