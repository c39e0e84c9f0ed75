"""The `fixed` strategy: chunks of about chunk_size characters, cut at the best boundary near that size.

chunk_size counts the whole chunk, the `overlap` characters repeated from the previous chunk included.

The cut is looked for within `TOLERANCE` (a share of the target) either side of chunk_size, preferring a
paragraph, then line, sentence, clause, word boundary, and the one nearest to the target among equals. When
that would split a sentence, a sentence-or-better boundary anywhere in [min_length, max_length] nearest to the
target is used instead. Never beyond max_length. Tables and code blocks are kept whole when they fit.
"""

from __future__ import annotations

from loreforge.chunk.boundaries import BLOCK, SENTENCE, STANDARD_LEVELS, Profile
from loreforge.chunk.packer import Plan, Sizing
from loreforge.chunk.sizes import bounded_overlap, char_target
from loreforge.settings import SplitSettings

TOLERANCE = 0.1


def plan(settings: SplitSettings) -> Plan:
    warnings: list[str] = []
    target = char_target(settings, warnings)
    sizing = Sizing(
        settings.min_length,
        settings.max_length,
        target=target,
        policy="target",
        tolerance=max(int(target * TOLERANCE), 1),
        sentence_floor=SENTENCE,
        overlap=bounded_overlap(settings, target, "characters", warnings),
        balance=False,
    )
    profile = Profile(STANDARD_LEVELS, heading_edges=False, edge=BLOCK)
    return Plan(profile, sizing, warnings=tuple(warnings))
