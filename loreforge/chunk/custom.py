"""The `custom` strategy: cut at every occurrence of settings.custom_separator, then merge up to min/max.

The separator is kept at the END of the chunk it closes (a chunk may end with "---"; the next one starts
after it). Pieces between separators are merged with the following ones only until min_length is reached (the
first separator at or past min_length ends the chunk), never beyond max_length; a piece longer than
max_length is further cut at paragraph, line, sentence, clause, word and finally character boundaries.
Separators inside code fences and tables are ignored. A line holding only the separator (such as the default
"---" right under a paragraph) is a separator, not a setext heading underline. `overlap` is not used.
"""

from __future__ import annotations

import re

from loreforge.chunk.boundaries import BLOCK, CUSTOM, STANDARD_LEVELS, Level, Profile
from loreforge.chunk.packer import Plan, Sizing
from loreforge.settings import SplitSettings


def plan(settings: SplitSettings) -> Plan:
    warnings: tuple[str, ...] = ()
    if settings.overlap:
        warnings = (
            f"split.overlap ({settings.overlap}) is not used by the custom strategy; use the fixed, "
            "recursive or token strategy for overlapping chunks",
        )
    separator = Level(CUSTOM, re.compile(re.escape(settings.custom_separator)))
    profile = Profile((separator,) + STANDARD_LEVELS, heading_edges=False, edge=BLOCK, near=frozenset({CUSTOM}))
    sizing = Sizing(settings.min_length, settings.max_length, target=settings.max_length, policy="far")
    lines = (settings.custom_separator.strip(),) if settings.custom_separator.strip() else ()
    return Plan(profile, sizing, warnings=warnings, separator_lines=lines)
