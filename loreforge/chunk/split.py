"""The chunk stage's entry point: `split_text(text, settings)` picks the strategy and runs the pipeline.

Fed by the service layer with a document's Markdown (from `ingest`) and the project's `SplitSettings`.
Pipeline: `layout.scan_layout` (blocks) → strategy `plan` (boundary profile + sizes) → `packer.pack` (greedy
cuts) → `merging.merge_short` (short leftovers) → `merging.with_heading_paths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from loreforge.chunk import custom, fixed, markdown, recursive, token
from loreforge.chunk.layout import scan_layout
from loreforge.chunk.merging import merge_short, with_heading_paths
from loreforge.chunk.packer import Plan, pack
from loreforge.errors import ConfigError
from loreforge.records import ChunkSpan
from loreforge.settings import SPLIT_STRATEGIES, SplitSettings

PLANNERS: dict[str, Callable[[SplitSettings], Plan]] = {
    "markdown": markdown.plan,
    "recursive": recursive.plan,
    "fixed": fixed.plan,
    "token": token.plan,
    "custom": custom.plan,
}


@dataclass(frozen=True)
class SplitResult:
    """The chunks of one document, in order, and anything the user should know about how they were made."""

    chunks: list[ChunkSpan]
    warnings: tuple[str, ...] = ()


def split_text(text: str, settings: SplitSettings) -> SplitResult:
    """Cut a Markdown document into chunks according to `settings` (see each strategy module)."""
    planner = PLANNERS.get(settings.strategy)
    if planner is None:
        raise ConfigError(
            "Unknown split strategy",
            expected=" | ".join(SPLIT_STRATEGIES),
            got=repr(settings.strategy),
            hint="Set split.strategy to one of them",
        )
    plan = planner(settings)
    if not text.strip():
        return SplitResult([], plan.warnings)
    layout = scan_layout(text, plan.separator_lines)
    chunks = merge_short(pack(layout, plan), text, settings.min_length, settings.max_length)
    return SplitResult(with_heading_paths(chunks, layout), plan.warnings)
