"""The numbers of an evaluation report, from its stored results: accuracy per model, per probe set, kind, question
type, document and tag, each with a 95% interval (Wilson for proportions, a seeded bootstrap for mean scores);
base and tuned compared PER PROBE (wins, losses, ties, McNemar's exact p); the regressions (base right, tuned
wrong) first, the general-probe losses, and the largest wins. Fed by the `eval_results` rows (scored by
`loreforge.evaluate.scoring`) and the probes; `loreforge.evaluate.report` writes what `summarize` returns.
Pure: no store, no model.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from loreforge.evaluate.answering import LABELS, EvalProbe
from loreforge.evaluate.scoring import probe_correct
from loreforge.evaluate.stats import bootstrap_mean, paired, wilson

GROUPS: tuple[str, ...] = ("set", "kind", "qtype", "document", "tag")
PAIRS: tuple[tuple[str, str], ...] = (("tuned", "base"), ("rag", "base"), ("tuned", "rag"))  # (challenger, reference)


@dataclass(frozen=True)
class ResultRow:
    """One stored answer (an `eval_results` row) as the report reads it."""

    probe_id: int
    label: str
    rotation: int
    answer: str
    correct: bool | None
    prompt: str = ""
    key_match: bool | None = None
    judge_score: float | None = None
    judge_reason: str | None = None
    bleu: float | None = None
    rouge: dict[str, float] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    finish_reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A probe's result for one model, over its rotations."""

    correct: bool | None
    answer: str  # rotation 0's answer; a choice probe's answers in every rotation, joined by " | "
    judge: float | None
    judge_reason: str | None
    rouge_l: float | None


def proportion(values: Sequence[bool]) -> dict[str, Any]:
    """k of n right, the rate and its 95% Wilson interval (rate None when n is 0)."""
    k, n = sum(1 for v in values if v), len(values)
    low, high = wilson(k, n)
    return {"k": k, "n": n, "rate": k / n if n else None, "low": low, "high": high}


def mean_interval(values: Sequence[float]) -> dict[str, Any] | None:
    """The mean with its 95% percentile-bootstrap interval; None without values."""
    if not values:
        return None
    low, high = bootstrap_mean(values)
    return {"n": len(values), "mean": math.fsum(values) / len(values), "low": low, "high": high}


def outcomes(rows: Iterable[ResultRow]) -> dict[str, dict[int, Outcome]]:
    """Per model label, per probe: right only if right in every rotation (`scoring.probe_correct`)."""
    grouped: dict[tuple[str, int], list[ResultRow]] = defaultdict(list)
    for r in rows:
        grouped[(r.label, r.probe_id)].append(r)
    out: dict[str, dict[int, Outcome]] = defaultdict(dict)
    for (label, probe_id), found in grouped.items():
        found.sort(key=lambda r: r.rotation)
        answer = found[0].answer if len(found) == 1 else " | ".join(r.answer for r in found)
        rouge = [r.rouge["rouge-l"] for r in found if r.rouge]
        out[label][probe_id] = Outcome(probe_correct([r.correct for r in found]), answer, found[0].judge_score,
                                       found[0].judge_reason, math.fsum(rouge) / len(rouge) if rouge else None)
    return dict(out)


def group_of(probe: EvalProbe, field: str) -> str:
    value = {"set": probe.set_name, "kind": probe.kind, "qtype": probe.qtype, "document": probe.document,
             "tag": probe.tag}[field]
    return str(value) if value else f"(no {field})"


def _model(rows: Sequence[ResultRow], results: dict[int, Outcome]) -> dict[str, Any]:
    scored = [o.correct for o in results.values() if o.correct is not None]
    keyed = [r.key_match for r in rows if r.key_match is not None and r.rotation == 0]
    judged = [o.judge for o in results.values() if o.judge is not None]
    out: dict[str, Any] = {
        "accuracy": proportion([bool(c) for c in scored]), "key_match": proportion([bool(k) for k in keyed]),
        "judge": mean_interval(judged), "probes": len(results), "unscored": len(results) - len(scored),
        "answers": len(rows), "cut": sum(1 for r in rows if r.finish_reason == "length"),
        "completion_tokens": sum(r.completion_tokens for r in rows),
        "latency_ms": math.fsum(r.latency_ms for r in rows) / len(rows) if rows else 0.0,
    }
    for name in ("bleu-4", "rouge-1", "rouge-2", "rouge-l"):
        values = [(r.bleu if name == "bleu-4" else (r.rouge or {}).get(name)) for r in rows]
        out[name] = mean_interval([float(v) for v in values if v is not None])
    return out


def _groups(probes: Sequence[EvalProbe], results: dict[str, dict[int, Outcome]], labels: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in GROUPS:
        table: dict[str, dict[str, Any]] = {}
        for name in sorted({group_of(p, field) for p in probes}):
            members = [p.id for p in probes if group_of(p, field) == name]
            table[name] = {label: proportion([bool(results[label][i].correct) for i in members
                                              if i in results[label] and results[label][i].correct is not None])
                           for label in labels}
        out[field] = table
    return out


def _pair(ids: Sequence[int], a: dict[int, Outcome], b: dict[int, Outcome]) -> dict[str, Any]:
    both = [i for i in ids if a.get(i) and b.get(i) and a[i].correct is not None and b[i].correct is not None]
    test = paired([bool(b[i].correct) for i in both], [bool(a[i].correct) for i in both])
    return {"n": len(both), "wins": test.wins, "losses": test.losses, "ties": test.both_right + test.both_wrong,
            "both_right": test.both_right, "both_wrong": test.both_wrong, "p_value": test.p_value}


def _paired(probes: Sequence[EvalProbe], results: dict[str, dict[int, Outcome]]) -> dict[str, Any]:
    """Each (challenger, reference) pair present: overall and per set and kind. Wins: the reference wrong, the
    challenger right; losses the other way round."""
    out: dict[str, Any] = {}
    for a, b in PAIRS:
        if a not in results or b not in results:
            continue
        entry: dict[str, Any] = {"all": _pair([p.id for p in probes], results[a], results[b])}
        for field in ("set", "kind"):
            entry[field] = {name: _pair([p.id for p in probes if group_of(p, field) == name], results[a], results[b])
                            for name in sorted({group_of(p, field) for p in probes})}
        out[f"{a}_vs_{b}"] = entry
    return out


def _size(a: Outcome, b: Outcome) -> float:
    """How large a win or loss is: the judge's score difference when both were judged, else ROUGE-L's (0..1)."""
    if a.judge is not None and b.judge is not None:
        return abs(a.judge - b.judge)
    if a.rouge_l is not None and b.rouge_l is not None:
        return abs(a.rouge_l - b.rouge_l) / 100
    return 0.0


def _example(p: EvalProbe, base: Outcome, tuned: Outcome) -> dict[str, Any]:
    return {"probe_id": p.id, "set": p.set_name, "kind": p.kind, "qtype": p.qtype, "document": p.document,
            "question": p.question, "reference": p.reference, "key": p.key, "options": list(p.options or ()),
            "base": base.answer, "tuned": tuned.answer, "base_correct": base.correct, "tuned_correct": tuned.correct,
            "base_judge": base.judge, "tuned_judge": tuned.judge, "size": round(_size(base, tuned), 4)}


def _changes(probes: Sequence[EvalProbe], results: dict[str, dict[int, Outcome]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(regressions: base right, tuned wrong; wins: base wrong, tuned right), each largest first."""
    base, tuned = results.get("base", {}), results.get("tuned", {})
    regressions, wins = [], []
    for p in probes:
        b, t = base.get(p.id), tuned.get(p.id)
        if b is None or t is None or b.correct is None or t.correct is None or b.correct == t.correct:
            continue
        (regressions if b.correct else wins).append(_example(p, b, t))
    order = {p.id: n for n, p in enumerate(probes)}
    for listed in (regressions, wins):
        listed.sort(key=lambda e: (-e["size"], order[e["probe_id"]]))
    return regressions, wins


def summarize(probes: Sequence[EvalProbe], rows: Sequence[ResultRow], top: int = 20) -> dict[str, Any]:
    """Everything the report states, as plain JSON-able data."""
    results = outcomes(rows)
    labels = [label for label in LABELS if label in results]
    by_label: dict[str, list[ResultRow]] = defaultdict(list)
    for r in rows:
        by_label[r.label].append(r)
    regressions, wins = _changes(probes, results)
    return {
        "labels": labels, "probes": len(probes),
        "models": {label: _model(by_label[label], results[label]) for label in labels},
        "groups": _groups(probes, results, labels),
        "paired": _paired(probes, results),
        "regressions_total": len(regressions), "wins_total": len(wins),
        "regressions": regressions, "wins": wins[:top],  # every regression is kept; the largest wins
        "general_losses": [e for e in regressions if e["kind"] == "general"],
    }
