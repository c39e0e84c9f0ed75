"""Probes: what a model is asked when LoreForge measures what it learned.

Fed by the review stage (confirmed dataset items) and the export's train/validation split; feeds the evaluation
runs. Pure modules (no store): `records` (ProbeDraft, kinds and question types), `keys` (the checkable value of a
reference, via the grounding check's extractors), `leakage` (character-trigram similarity to every training
question), `choices` (short, true/false and choice forms, distractors, rotations, rendering), `build` (held-out, key-fact and general probes, and the probes of one reworded item), `reword` (the
rewording prompt's messages and reply), `files` (JSONL/CSV import and export) and `general` (the shipped set).
The service (`loreforge.service.probes`) stores them as `probe_sets` and `probes` rows.
"""

from __future__ import annotations

from loreforge.evaluate.probes.choices import LETTERS, Rotation, prompt_text, rotation_count, rotations
from loreforge.evaluate.probes.keys import KeyValue, find_key, values
from loreforge.evaluate.probes.leakage import LeakageIndex, jaccard
from loreforge.evaluate.probes.records import BUILT_KINDS, CHOICE_QTYPES, KEY_KINDS, KINDS, QTYPES, ProbeDraft

__all__ = [
    "BUILT_KINDS", "CHOICE_QTYPES", "KEY_KINDS", "KINDS", "LETTERS", "QTYPES", "KeyValue", "LeakageIndex", "ProbeDraft",
    "Rotation", "find_key", "jaccard", "prompt_text", "rotation_count", "rotations", "values",
]
