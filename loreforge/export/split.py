"""Train/validation split and per-tag balancing on lightweight pair keys.

Works on `PairKey` tuples (id, tag, chunk_id, document_id) collected in the export's first pass, so that
hundreds of thousands of items fit in a few tens of MB; the second pass streams the full pairs whose ids
were selected here. Everything is deterministic for a given seed and input order.
"""

from __future__ import annotations

import random
import sys
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import Literal, NamedTuple

from loreforge.records import QAPair


class PairKey(NamedTuple):
    """What split and balance need to know about one pair."""

    id: int
    tag: str
    chunk_id: int | None
    document_id: int | None
    kind: str = "qa"
    images: bool = False


def key_of(pair: QAPair) -> PairKey:
    """The lightweight key of a pair (tags interned: many pairs share few tag strings)."""
    return PairKey(pair.id, sys.intern(pair.tag), pair.chunk_id, pair.document_id, sys.intern(pair.kind), bool(pair.images))


def _group_of(key: PairKey, by: Literal["document", "chunk"]) -> Hashable:
    source = key.document_id if by == "document" else key.chunk_id
    return ("own", key.id) if source is None else ("src", source)


def _groups(keys: Sequence[PairKey], by: Literal["document", "chunk"]) -> list[list[int]]:
    """Ids grouped by source, groups in order of first appearance."""
    groups: dict[Hashable, list[int]] = {}
    for key in keys:
        groups.setdefault(_group_of(key, by), []).append(key.id)
    return list(groups.values())


def _pick_val_groups(groups: list[list[int]], target: int) -> set[int]:
    """Indexes of groups (already shuffled) whose sizes add up as close to `target` as possible, greedily:
    take each group that still fits; if none fits, take the smallest one when that is closer than nothing."""
    chosen: set[int] = set()
    total = 0
    for index, group in enumerate(groups):
        if total + len(group) <= target:
            chosen.add(index)
            total += len(group)
        if total == target:
            break
    if not chosen and target > 0 and len(groups) > 1:
        smallest = min(range(len(groups)), key=lambda i: len(groups[i]))
        if abs(len(groups[smallest]) - target) < target:
            chosen.add(smallest)
    return chosen


def split_pairs(
    pairs: Iterable[PairKey],
    val_size: float,
    by: Literal["document", "chunk"],
    seed: int,
) -> tuple[list[int], list[int]]:
    """Split pair ids into (train_ids, val_ids), both in input order.

    Pairs are grouped by `document_id` or `chunk_id` (a pair without one is its own group); groups are
    shuffled with `seed` and whole groups go to validation until its size is as close to
    `round(val_size * n)` as whole groups allow, so no chunk (or document) feeds both sides. Training always
    keeps at least one pair; `val_size == 0` gives no validation ids.
    """
    keys = list(pairs)
    n = len(keys)
    target = min(round(val_size * n), n - 1) if n else 0
    if target <= 0:
        return [k.id for k in keys], []
    groups = _groups(keys, by)
    random.Random(seed).shuffle(groups)
    val: set[int] = set()
    for index in _pick_val_groups(groups, target):
        val.update(groups[index])
    if len(val) >= n:  # one group holds everything: it must stay in training
        val = set()
    return [k.id for k in keys if k.id not in val], [k.id for k in keys if k.id in val]


def balance(pairs: Iterable[PairKey], per_tag: int, seed: int) -> list[PairKey]:
    """At most `per_tag` keys per tag (the empty tag counts as one tag), chosen by seeded random sampling;
    the kept keys stay in input order."""
    keys = list(pairs)
    by_tag: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        by_tag[key.tag].append(index)
    rng = random.Random(seed)
    keep: set[int] = set()
    for tag in sorted(by_tag):
        indexes = by_tag[tag]
        keep.update(indexes if len(indexes) <= per_tag else rng.sample(indexes, per_tag))
    return [key for index, key in enumerate(keys) if index in keep]
