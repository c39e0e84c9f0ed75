"""The fields of the dataset filter — which dataset items an action applies to — written once. From this one
list come the filter model (`loreforge.filters.DatasetFilter`, the Python API and the REST API's query
parameters and bodies) and the CLI's filter options (`loreforge.cli.dataset.filter_options`). Import-free so
that `loreforge --help` stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FilterField:
    """One condition: its name and type in the model, its CLI option (`--on/--off` for a yes/no choice) and
    the option's destination when it differs from the name."""

    name: str
    type: type
    help: str
    cli: str
    dest: str | None = None
    bounds: dict[str, Any] = field(default_factory=dict)
    many: bool = False  # a list of `type` (CLI: comma or space separated)

    @property
    def option_dest(self) -> str:
        return self.dest or self.name

    @property
    def switch(self) -> bool:
        return "/" in self.cli


SCORE = {"ge": 0, "le": 5}

FIELDS: tuple[FilterField, ...] = (
    FilterField("ids", int, "Item ids (CLI: comma or space separated).", "--ids", many=True),
    FilterField("confirmed", bool, "Only confirmed / unconfirmed items.", "--confirmed/--unconfirmed"),
    FilterField("tag", str, "Only items with this tag.", "--tag"),
    FilterField("min_score", float, "Only items scored at least this.", "--min-score", "f_min_score", SCORE),
    FilterField("max_score", float, "Only items scored at most this.", "--max-score", "f_max_score", SCORE),
    FilterField("min_rating", int, "Only items rated at least this many stars (0-5).", "--min-rating", bounds={"ge": 0, "le": 5}),
    FilterField("has_cot", bool, "Only items with / without chain of thought.", "--has-cot/--no-cot"),
    FilterField("grounding_failed", bool, "Only items that failed (or passed) the grounding check.",
                "--grounding-failed/--grounded"),
    FilterField("duplicate", bool, "Only items marked (or not marked) as duplicates.", "--duplicates/--no-duplicates"),
    FilterField("stale", bool, "Only items whose source chunk changed (or did not) since they were written.", "--stale/--fresh"),
    FilterField("text", str, "Only items whose question or answer contains this text.", "--search"),
    FilterField("document_id", int, "Only items from this source document.", "--document"),
    FilterField("label", str, "Only items with this free label.", "--label"),
    FilterField("ga_pair_id", int, "Only items made in this genre–audience pair.", "--ga-pair"),
    FilterField("ga", bool, "Only items made with (or without) a genre–audience pair.", "--ga/--no-ga"),
    FilterField("distilled", bool, "Only items answered from the model's own knowledge (or from a source).", "--distilled/--sourced"),
    FilterField("image_id", int, "Only items about this image.", "--image"),
    FilterField("images", bool, "Only items about an image (or not).", "--images/--no-images"),
    FilterField("kind", str, "Only items of this kind: qa (a question and its answer) or dialogue (several rounds).", "--kind"),
)
SCORE_FIELDS = ("min_score", "max_score")
