"""Scoring one answer, and one probe over its rotations. Fed by the prompts of `loreforge.evaluate.answering` and
the models' answers; read by `loreforge.evaluate.aggregate`. The per-answer readers and similarity measures are
`loreforge.evaluate.metrics`'.

- open / short probes: right when the answer states the probe's key fact (`key_fact_match`: the value, not the
  wording); a probe without a key is scored by the judge when there is one (right at `JUDGE_PASS` or above),
  else not at all (`correct` None: it is not counted in accuracies);
- true/false: right when the verdict read from the answer is the expected one (no readable verdict is wrong);
- single / multiple choice: right when the letters read from the answer are exactly the correct set in that
  rotation; the PROBE is right only when it is right in every rotation (`probe_correct`);
- every answer: BLEU-4 and ROUGE-1/2/L against its label (the reference; the correct letters of a choice; "true"
  or "false"), exactly as LLaMA Factory computes them, so its users can compare numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loreforge.evaluate import metrics
from loreforge.evaluate.answering import Ask, EvalProbe
from loreforge.evaluate.probes.choices import LETTERS
from loreforge.evaluate.probes.choices import rotations as choice_rotations

JUDGE_PASS = 0.75  # the anchored scale's "key fact right, a secondary detail missing"
JUDGED_QTYPES = frozenset({"open", "short"})  # the judge reads free answers; choices and verdicts are read exactly


@dataclass(frozen=True)
class Scored:
    correct: bool | None
    key_match: bool | None
    bleu: float
    rouge: dict[str, float]


def label_text(ask: Ask) -> str:
    """What the answer is compared with: the reference, a choice's correct letters ("A, C"), or "true"/"false"."""
    probe = ask.probe
    if probe.is_choice:
        return ", ".join(LETTERS[i] for i in sorted(ask.expected or ()))
    if probe.qtype == "true_false":
        return "true" if ask.expected else "false"
    return probe.reference or (probe.key or "")


def label_of(probe: EvalProbe, rotation: int) -> str:
    """`label_text` of the probe as asked in `rotation` (a stored result names its rotation, not its prompt)."""
    if probe.is_choice:
        assert probe.options is not None
        answer = probe.answer if isinstance(probe.answer, (list, tuple)) else []
        shifted = next((r for r in choice_rotations(probe.options, answer) if r.shift == rotation), None)
        return label_text(Ask(probe, "", rotation, "", shifted.options if shifted else probe.options,
                              shifted.answer if shifted else tuple(answer)))
    return label_text(Ask(probe, "", rotation, "", None, probe.answer if probe.qtype == "true_false" else None))


def _correct(ask: Ask, text: str, key_match: bool | None) -> bool | None:
    probe = ask.probe
    if probe.is_choice:
        assert ask.options is not None
        return metrics.choice_letters(text, len(ask.options)) == frozenset(ask.expected or ())
    if probe.qtype == "true_false":
        return isinstance(ask.expected, bool) and metrics.true_false(text) is ask.expected
    return key_match


def score_answer(ask: Ask, text: str) -> Scored:
    """The scores of one answer to one prompt (before any judge)."""
    key = ask.probe.key
    key_match = metrics.key_fact_match(text, key) if key and key.strip() and ask.probe.qtype in JUDGED_QTYPES else None
    label = label_text(ask)
    return Scored(_correct(ask, text, key_match), key_match, metrics.bleu4(text, label), metrics.rouge(text, label))


def judged_correct(current: bool | None, key: str | None, score: float) -> bool | None:
    """After the judge: a probe without a key is right when the judge scores it JUDGE_PASS or more; a keyed probe
    keeps the key-fact verdict (the judge's score is reported beside it)."""
    return current if key and key.strip() else score >= JUDGE_PASS


def probe_correct(per_rotation: Sequence[bool | None]) -> bool | None:
    """A probe over its rotations: right only when right in all; None when it could not be scored."""
    if not per_rotation or any(c is None for c in per_rotation):
        return None
    return all(per_rotation)
