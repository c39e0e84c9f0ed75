"""The plain records of probe building: `ProbeDraft` (one probe before it is stored as a `probes` row) and the
vocabularies of probe kinds and question types. Everything in `loreforge.evaluate.probes` passes these."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from loreforge.settings.probes import QTYPE_NAMES

# The set a probe comes from. held_out: the export's validation split; reworded: trained questions rewritten by an
# LLM; key_fact: trained questions asked as trained, when the reference holds a checkable value; user: a file;
# general: the shipped general-knowledge set.
KINDS: tuple[str, ...] = ("held_out", "reworded", "key_fact", "user", "general")
BUILT_KINDS: tuple[str, ...] = ("held_out", "reworded", "key_fact", "general")  # what `probes build` makes
QTYPES: tuple[str, ...] = QTYPE_NAMES  # one source: the settings check `probes.qtypes` against it
CHOICE_QTYPES: frozenset[str] = frozenset({"single_choice", "multiple_choice"})
KEY_KINDS: tuple[str, ...] = ("number", "percentage", "amount", "date", "name")  # as loreforge.evaluate.metrics.key_kind


def cli_name(name: str) -> str:
    """held_out -> held-out (how the CLI and the API spell kinds and question types)."""
    return name.replace("_", "-")


def parse_names(text: str | list[str] | tuple[str, ...] | None, allowed: tuple[str, ...], what: str) -> list[str] | None:
    """`held-out,key_fact` -> ["held_out", "key_fact"] (either spelling); a `UserError` naming the unknown one."""
    from loreforge.errors import UserError

    if text is None:
        return None
    parts = text.replace(" ", ",").split(",") if isinstance(text, str) else list(text)
    names = [p.strip().replace("-", "_") for p in parts if p and p.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise UserError(f"Unknown {what}", expected=", ".join(cli_name(a) for a in allowed),
                        got=", ".join(repr(cli_name(u)) for u in unknown) or "nothing")
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class ProbeDraft:
    """One probe as built or read, before it has a set and a position. `answer`: the correct option indices of
    a choice probe, True/False for a true/false probe, else None."""

    kind: str
    qtype: str
    question: str
    reference: str = ""
    key: str | None = None
    key_kind: str | None = None
    options: tuple[str, ...] | None = None
    answer: Any = None
    document_id: int | None = None
    chunk_id: int | None = None
    dataset_item_id: int | None = None
    tag: str | None = None
    source_question: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def but(self, **changes: Any) -> ProbeDraft:
        return replace(self, **changes)

    def row(self) -> dict[str, Any]:
        """The columns of a `probes` row (without set and position)."""
        return {
            "kind": self.kind, "qtype": self.qtype, "question": self.question, "reference": self.reference, "key": self.key,
            "key_kind": self.key_kind, "options": list(self.options) if self.options is not None else None,
            "answer": list(self.answer) if isinstance(self.answer, tuple) else self.answer, "document_id": self.document_id,
            "chunk_id": self.chunk_id, "dataset_item_id": self.dataset_item_id, "tag": self.tag or None,
            "source_question": self.source_question, "provenance": dict(self.provenance),
        }
