"""Train/validation split and per-tag balancing: properties (hypothesis) and table cases."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loreforge.export import PairKey, balance, split_pairs

ids = st.integers(min_value=0, max_value=10_000)
maybe_source = st.one_of(st.none(), st.integers(min_value=0, max_value=15))


@st.composite
def key_lists(draw: st.DrawFn) -> list[PairKey]:
    unique_ids = draw(st.lists(ids, min_size=0, max_size=120, unique=True))
    return [
        PairKey(i, draw(st.sampled_from(["", "财务", "terms", "研发"])), draw(maybe_source), draw(maybe_source))
        for i in unique_ids
    ]


@settings(max_examples=150, deadline=None)
@given(
    keys=key_lists(),
    val_size=st.floats(min_value=0.0, max_value=0.95),
    by=st.sampled_from(["document", "chunk"]),
    seed=st.integers(0, 2**32),
)
def test_split_never_shares_a_source(keys: list[PairKey], val_size: float, by: str, seed: int) -> None:
    train, val = split_pairs(keys, val_size, by, seed)  # type: ignore[arg-type]
    assert sorted(train + val) == sorted(k.id for k in keys)  # a partition: nothing lost or doubled
    assert not set(train) & set(val)
    source = {k.id: (k.document_id if by == "document" else k.chunk_id) for k in keys}
    train_sources = {source[i] for i in train if source[i] is not None}
    val_sources = {source[i] for i in val if source[i] is not None}
    assert not train_sources & val_sources
    if keys:
        assert train, "training keeps at least one item"
    if val_size == 0:
        assert val == []
    order = [k.id for k in keys]
    assert train == [i for i in order if i in set(train)] and val == [i for i in order if i in set(val)]
    assert split_pairs(keys, val_size, by, seed) == (train, val)  # type: ignore[arg-type]  # deterministic


def chunked(n: int, per_chunk: int = 1) -> list[PairKey]:
    return [PairKey(i, "", i // per_chunk, i // (per_chunk * 10)) for i in range(n)]


@pytest.mark.parametrize("val_size", [0.05, 0.1, 0.2, 0.5])
def test_val_share_is_close_to_requested(val_size: float) -> None:
    keys = chunked(1000, per_chunk=3)  # groups of 3: share within one group of the target
    train, val = split_pairs(keys, val_size, "chunk", 7)
    assert abs(len(val) - val_size * 1000) <= 3
    singles = chunked(1000)
    train, val = split_pairs(singles, val_size, "chunk", 7)
    assert len(val) == round(val_size * 1000)


def test_seed_changes_the_split_and_groups_stay_whole() -> None:
    keys = chunked(300, per_chunk=5)
    a = split_pairs(keys, 0.2, "chunk", 1)
    b = split_pairs(keys, 0.2, "chunk", 2)
    assert a != b and len(a[1]) == len(b[1]) == 60
    val_chunks = Counter(k.chunk_id for k in keys if k.id in set(a[1]))
    assert set(val_chunks.values()) == {5}
    by_doc = split_pairs(keys, 0.2, "document", 1)[1]
    assert {k.document_id for k in keys if k.id in set(by_doc)} & {
        k.document_id for k in keys if k.id not in set(by_doc)
    } == set()


def test_split_edge_cases() -> None:
    assert split_pairs([], 0.5, "chunk", 1) == ([], [])
    one = [PairKey(1, "", 5, 5)]
    assert split_pairs(one, 0.9, "chunk", 1) == ([1], [])
    same_chunk = [PairKey(i, "", 5, 5) for i in range(10)]
    assert split_pairs(same_chunk, 0.5, "chunk", 1) == (list(range(10)), [])  # cannot split one chunk
    two_groups = [PairKey(i, "", i % 2, None) for i in range(10)]
    train, val = split_pairs(two_groups, 0.3, "chunk", 1)
    assert len(val) == 5 and len(train) == 5  # the closest whole-group answer to 3 of 10
    no_sources = [PairKey(i, "", None, None) for i in range(10)]
    assert len(split_pairs(no_sources, 0.3, "document", 3)[1]) == 3


@settings(max_examples=100, deadline=None)
@given(keys=key_lists(), per_tag=st.integers(1, 40), seed=st.integers(0, 1000))
def test_balance_caps_each_tag(keys: list[PairKey], per_tag: int, seed: int) -> None:
    kept = balance(keys, per_tag, seed)
    before, after = Counter(k.tag for k in keys), Counter(k.tag for k in kept)
    assert all(after[tag] == min(count, per_tag) for tag, count in before.items())
    positions = {k.id: n for n, k in enumerate(keys)}
    assert [positions[k.id] for k in kept] == sorted(positions[k.id] for k in kept)  # order kept
    assert balance(keys, per_tag, seed) == kept


def test_balance_samples_randomly_by_seed() -> None:
    keys = [PairKey(i, "a" if i < 100 else "b", None, None) for i in range(110)]
    first, second = balance(keys, 10, 1), balance(keys, 10, 2)
    assert Counter(k.tag for k in first) == {"a": 10, "b": 10}
    assert [k.id for k in first if k.tag == "a"] != list(range(10))  # not just the first ten
    assert first != second
