"""The shipped general-knowledge probes (`loreforge/evaluate/general/{zh,en}.jsonl`, written for LoreForge):
capital cities, arithmetic, basic science and history, each with a short checkable key answer, its kind and
three distractors for the choice forms. Asked before and after training, they show what fine-tuning cost the
model outside the project's documents (forgetting)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from loreforge.errors import UserError

FOLDER = Path(__file__).resolve().parent.parent / "general"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class GeneralQuestion:
    question: str
    reference: str
    key: str
    key_kind: str
    distractors: tuple[str, ...]
    tag: str
    line: int


def general_set(language: str) -> list[GeneralQuestion]:
    """The general questions in `language` (zh or en), in file order."""
    if language not in LANGUAGES:
        raise UserError("No general probe set in that language", expected=" or ".join(LANGUAGES), got=repr(language))
    path = FOLDER / f"{language}.jsonl"
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            out.append(GeneralQuestion(row["question"], row["reference"], row["key"], row["key_kind"],
                                       tuple(row["distractors"]), row.get("tag", ""), number))
    return out
