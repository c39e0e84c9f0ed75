"""Probe building, pure: trained and held-out dataset items in, probe drafts and their counts out.

- **held_out**: the items of the export's validation split (the service computes it with the export's own
  split function, so a held-out probe is never an item trained on), asked as stored;
- **key_fact**: trained items asked as trained, when their reference holds a checkable value (the memorisation
  check: scored by that value, not by wording); items without one are counted as dropped;
- **reworded**: trained items whose question an LLM rewrote (`reworded`, called by the service's job per item);
- **general**: the shipped general-knowledge set.

Every probe but a key-fact one passes the leakage filter first (too close to any training question: dropped and
counted with its nearest training question); then each base question is expanded into the requested question
types (`choices.expand`). Each probe's random choices (sample, distractors, option order, true or false) come
from a generator seeded by the build seed and the probe's own identity, so a build — or one item of the
rewording job — gives the same probes whatever order items are worked in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loreforge.evaluate.probes.choices import expand, general_expand
from loreforge.evaluate.probes.keys import KeyValue, find_key
from loreforge.evaluate.probes.leakage import LeakageIndex
from loreforge.evaluate.probes.records import ProbeDraft

LEAKED_SHOWN = 20
NO_KEY_FACT = "no checkable value in the reference (key-fact probes need one)"


@dataclass(frozen=True)
class Item:
    """A dataset item as probe building sees it."""

    id: int
    question: str
    answer: str
    chunk_id: int | None = None
    document_id: int | None = None
    tag: str = ""


@dataclass(frozen=True)
class BuildOptions:
    kinds: tuple[str, ...]
    qtypes: tuple[str, ...]
    size: int
    options: int
    threshold: float
    seed: int
    language: str


@dataclass
class Built:
    probes: list[ProbeDraft] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)


def rng_for(seed: int, *identity: Any) -> random.Random:
    return random.Random(":".join(map(str, (seed, *identity))))


def sample(items: Sequence[Item], size: int, seed: int, kind: str) -> list[Item]:
    """At most `size` items, a seeded sample kept in input order."""
    if len(items) <= size:
        return list(items)
    chosen = set(rng_for(seed, "sample", kind).sample(range(len(items)), size))
    return [item for i, item in enumerate(items) if i in chosen]


def empty_counts() -> dict[str, Any]:
    return {"built": 0, "dropped_leakage": 0, "dropped_other": 0, "per_kind": {}, "per_qtype": {}, "leaked": []}


def available(counts: dict[str, Any], kind: str, n: int) -> None:
    """Record how many base questions a kind could draw from (before `size` sampled them)."""
    counts["per_kind"].setdefault(kind, {"built": 0, "dropped_leakage": 0, "dropped_other": {}})["available"] = n


def tally(counts: dict[str, Any], kind: str, built: Sequence[ProbeDraft], skipped: Mapping[str, int],
          leaked: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add one base question's outcome to `counts` (a JSON-ready dict) and return it."""
    mine = counts["per_kind"].setdefault(kind, {"built": 0, "dropped_leakage": 0, "dropped_other": {}})
    mine["built"] += len(built)
    counts["built"] += len(built)
    for probe in built:
        counts["per_qtype"][probe.qtype] = counts["per_qtype"].get(probe.qtype, 0) + 1
    for reason, n in skipped.items():
        mine["dropped_other"][reason] = mine["dropped_other"].get(reason, 0) + n
        counts["dropped_other"] += n
    if leaked is not None:
        mine["dropped_leakage"] += 1
        counts["dropped_leakage"] += 1
        if len(counts["leaked"]) < LEAKED_SHOWN:
            counts["leaked"].append({"kind": kind, **leaked})
    return counts


def _base(kind: str, item: Item, question: str, provenance: dict[str, Any]) -> ProbeDraft:
    return ProbeDraft(kind=kind, qtype="open", question=question, reference=item.answer, document_id=item.document_id,
                      chunk_id=item.chunk_id, dataset_item_id=item.id, tag=item.tag or None, source_question=item.question,
                      provenance=provenance)


def item_probes(kind: str, item: Item, question: str, pools: Mapping[int | None, Sequence[KeyValue]], opts: BuildOptions,
                index: LeakageIndex, counts: dict[str, Any], provenance: dict[str, Any]) -> list[ProbeDraft]:
    """The probes of one dataset item asked as `question` (its own, or a rewording), counted into `counts`."""
    if kind != "key_fact":
        near = index.leaked(question, opts.threshold)
        if near is not None:
            tally(counts, kind, [], {}, {"question": question, "training_question": near.question,
                                         "similarity": round(near.similarity, 4), "dataset_item_id": item.id})
            return []
    key = find_key(item.answer, question)
    if kind == "key_fact" and key is None:
        tally(counts, kind, [], {NO_KEY_FACT: 1})
        return []
    base = _base(kind, item, question, provenance)
    rng = rng_for(opts.seed, kind, item.id, question)
    result = expand(base, key, pools.get(item.document_id, ()), opts.qtypes, opts.options, rng, opts.language)
    tally(counts, kind, result.probes, result.skipped)
    return result.probes


def general_probes(opts: BuildOptions, index: LeakageIndex, counts: dict[str, Any]) -> list[ProbeDraft]:
    from loreforge.evaluate.probes.general import general_set

    out: list[ProbeDraft] = []
    questions = general_set(opts.language)
    available(counts, "general", len(questions))
    chosen = sample([Item(g.line, g.question, g.reference) for g in questions], opts.size, opts.seed, "general")
    by_line = {g.line: g for g in questions}
    for item in chosen:
        g = by_line[item.id]
        near = index.leaked(g.question, opts.threshold)
        if near is not None:
            tally(counts, "general", [], {}, {"question": g.question, "training_question": near.question,
                                              "similarity": round(near.similarity, 4)})
            continue
        base = ProbeDraft(kind="general", qtype="open", question=g.question, reference=g.reference, key=g.key, key_kind=g.key_kind,
                          tag=g.tag or None, provenance={"source": "general", "set": opts.language, "line": g.line})
        result = general_expand(base, g.distractors, opts.qtypes, opts.options, rng_for(opts.seed, "general", g.line), opts.language)
        tally(counts, "general", result.probes, result.skipped)
        out += result.probes
    return out


def build_offline(train: Sequence[Item], val: Sequence[Item], pools: Mapping[int | None, Sequence[KeyValue]],
                  opts: BuildOptions, index: LeakageIndex, provenance: dict[str, Any]) -> Built:
    """The probes that need no LLM: held-out, key-fact and general, in that order."""
    built = Built(counts=empty_counts())
    if "held_out" in opts.kinds:
        available(built.counts, "held_out", len(val))
        for item in sample(val, opts.size, opts.seed, "held_out"):
            built.probes += item_probes("held_out", item, item.question, pools, opts, index, built.counts,
                                        {**provenance, "split_side": "val"})
    if "key_fact" in opts.kinds:
        available(built.counts, "key_fact", len(train))
        keyed = [item for item in train if find_key(item.answer, item.question) is not None]
        for item in sample(keyed, opts.size, opts.seed, "key_fact"):
            built.probes += item_probes("key_fact", item, item.question, pools, opts, index, built.counts,
                                        {**provenance, "split_side": "train"})
        skipped = len(train) - len(keyed)
        if skipped:
            tally(built.counts, "key_fact", [], {NO_KEY_FACT: skipped})
    if "general" in opts.kinds:
        built.probes += general_probes(opts, index, built.counts)
    return built
