"""The stages of a pipeline run, what each one depends on, and which must run (pure: no store, no model).

ingest → split → tags → questions → answers → review → export → train → probes → eval → report

Each stage has **inputs**: the part of the recipe and of the project's effective settings that decides its
result (the documents' content hashes for ingest, `split.*` for split, the generation model for questions, ...).
Its **fingerprint** hashes its inputs with the fingerprints of the stages it depends on, so a changed setting
changes the fingerprint of its stage and of every stage after it — and of no other. A stage runs when it never
completed, when its fingerprint changed (the decision names what changed: `split.max_length: 500 → 400`), when
its outputs are gone, or when `--from` names it or a stage before it (`--from S` runs S and every stage after
it, whatever their records say; the stages before it must have completed); `--until` stops after a stage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

STAGES: tuple[str, ...] = ("ingest", "split", "tags", "questions", "answers", "review", "export", "train", "probes",
                           "eval", "report")
DEPENDS: dict[str, tuple[str, ...]] = {
    "ingest": (), "split": ("ingest",), "tags": ("split",), "questions": ("split", "tags"), "answers": ("questions",),
    "review": ("answers",), "export": ("review",), "train": ("export",), "probes": ("export",),
    "eval": ("train", "probes"), "report": ("eval", "export"),
}
ALWAYS = frozenset({"report"})  # cheap, and it reads everything: written at the end of every run


@dataclass(frozen=True)
class Decision:
    """Whether a stage runs now, and why (shown in the progress and the summary)."""

    stage: str
    run: bool
    reason: str
    fingerprint: str


def fingerprint(inputs: dict[str, Any], upstream: list[str]) -> str:
    blob = json.dumps({"inputs": inputs, "upstream": upstream}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def check_range(start: str | None, until: str | None) -> None:
    from loreforge.errors import UserError

    for option, stage in (("--from", start), ("--until", until)):
        if stage is not None and stage not in STAGES:
            raise UserError(f"{option} takes a stage name", expected=", ".join(STAGES), got=repr(stage))
    if start and until and STAGES.index(start) > STAGES.index(until):
        raise UserError(f"--from {start} comes after --until {until}", hint="Name an earlier --from or a later --until")


def decide(inputs: dict[str, dict[str, Any]], enabled: dict[str, bool], stored: dict[str, Any],
           start: str | None = None, until: str | None = None, outputs_ok: dict[str, bool] | None = None) -> list[Decision]:
    """For each stage in order: run it or not, and why. `stored`: the run's stage records so far."""
    prints: dict[str, str] = {}
    rerun: set[str] = set()
    out: list[Decision] = []
    first = STAGES.index(start) if start else 0
    last = STAGES.index(until) if until else len(STAGES) - 1
    for i, stage in enumerate(STAGES):
        deps = [d for d in DEPENDS[stage] if enabled.get(d, False)]
        prints[stage] = fingerprint(inputs.get(stage, {}), [prints[d] for d in deps])
        if not enabled.get(stage, False):
            out.append(Decision(stage, False, "not in the recipe", prints[stage]))
            continue
        if i > last:
            out.append(Decision(stage, False, f"after --until {until}", prints[stage]))
            continue
        if i < first:
            if (stored.get(stage) or {}).get("status") != "completed":
                from loreforge.errors import UserError

                raise UserError(f"--from {start}: the stage before it, {stage}, has not completed", got=str((stored.get(stage) or {}).get("status")),
                                hint=f"Run without --from (or --from {stage}) first")
            out.append(Decision(stage, False, f"before --from {start}", prints[stage]))
            continue
        record = stored.get(stage) or {}
        reason = _why(stage, record, inputs.get(stage, {}), prints[stage], [d for d in deps if d in rerun],
                      (outputs_ok or {}).get(stage, True))
        if start is not None:
            reason = "--from names it" if stage == start else f"after --from {start}"
        if reason:
            rerun.add(stage)
        out.append(Decision(stage, bool(reason), reason or "done before, unchanged", prints[stage]))
    return out


def _why(stage: str, record: dict[str, Any], inputs: dict[str, Any], print_now: str, changed_deps: list[str],
         outputs_ok: bool) -> str:
    if stage in ALWAYS:
        return "written at the end of every run"
    status = record.get("status")
    if status is None:
        return "first run"
    if status != "completed":
        return f"it was {status}: resuming"
    if record.get("fingerprint") != print_now:
        changes = changed(record.get("inputs") or {}, inputs)
        if changes:
            return "changed: " + "; ".join(changes)
        if changed_deps:
            return "after " + ", ".join(changed_deps)
        return "its inputs changed"
    if not outputs_ok:
        return "its outputs are gone"
    return ""


def changed(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose value differs, as `key: old → new` (documents: added / removed / edited)."""
    out: list[str] = []
    for key in sorted(set(before) | set(after)):
        a, b, name = before.get(key), after.get(key), f"{prefix}{key}"
        if a == b:
            continue
        if key == "documents" and isinstance(a, dict | None) and isinstance(b, dict):
            out.append(_documents_change(a or {}, b))
        elif isinstance(a, dict) and isinstance(b, dict):
            out.extend(changed(a, b, f"{name}."))
        else:
            out.append(f"{name}: {_short(a)} → {_short(b)}")
    return out


def _documents_change(before: dict[str, str], after: dict[str, str]) -> str:
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    edited = [n for n in after if n in before and before[n] != after[n]]
    parts = [f"{label} {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"
             for label, names in (("added", added), ("removed", removed), ("edited", edited)) if names]
    return "documents " + "; ".join(parts)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "…"
