"""The `markdown` strategy (the default): chunks follow the heading tree.

A cut before a heading is the strongest boundary (a level-1 heading stronger than a level-2 one, ...), then
before a bold-line label (see layout.py), then paragraph, list item, line, sentence, clause, word and
character. A heading (or label) is never left at the end of a chunk whose body starts the next one.
Neighbouring small sections are packed together up to max_length; a section longer than max_length is cut
at paragraph, then line, then sentence boundaries. When the only cuts
that would reach min_length split a section that fits in one chunk by itself, the chunk ends before that
section instead (a short chunk that cannot merge with its neighbours). `overlap` is not used.
"""

from __future__ import annotations

from loreforge.chunk.boundaries import BLOCK, HEADING_BASE, STANDARD_LEVELS, Cut, Finder, Profile
from loreforge.chunk.layout import lstrip_pos
from loreforge.chunk.packer import Plan, Refine, Sizing, Window
from loreforge.settings import SplitSettings

_WEAKEST_HEADING = HEADING_BASE - 6


def keep_sections(sizing: Sizing) -> Refine:
    """A refine step: end before a section rather than cut through it when the section fits one chunk."""

    def refine(finder: Finder, w: Window, cut: Cut) -> Cut:
        if cut.strength >= _WEAKEST_HEADING or cut.pos < w.lo or w.lo <= w.s + 1:
            return cut
        sections = finder.headings_between(w.s + 1, w.lo - 1)
        if not sections:
            return cut
        section = sections[-1]
        end = finder.layout.content_end
        start = lstrip_pos(finder.text, section.pos, end)
        limit = start + sizing.max_len
        later = finder.headings_between(cut.pos + 1, limit)
        section_end = later[0].pos if later else end
        return section if section_end <= limit else cut

    return refine


def plan(settings: SplitSettings) -> Plan:
    warnings: tuple[str, ...] = ()
    if settings.overlap:
        warnings = (
            f"split.overlap ({settings.overlap}) is not used by the markdown strategy, whose chunks follow "
            "sections; use the fixed, recursive or token strategy for overlapping chunks",
        )
    profile = Profile(STANDARD_LEVELS, heading_edges=True, edge=BLOCK)
    sizing = Sizing(settings.min_length, settings.max_length, target=settings.max_length, policy="far")
    return Plan(profile, sizing, refine=keep_sections, warnings=warnings)
