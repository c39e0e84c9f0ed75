"""Property tests: every strategy keeps every invariant, on generated Markdown and on real documents.

The invariants and the document grammar live in test_chunk_checker.py. Real text: the Chinese earnings reports
of the shared corpus (read by path, where it is beside the checkout) and the example report LoreForge ships.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FINANCIAL, examples
from loreforge.chunk import split_text
from loreforge.chunk.token import load_measure
from loreforge.settings import SplitSettings
from test_chunk_checker import check_split, documents, split_settings

CORPUS_FILES = sorted(p for p in FINANCIAL.glob("*") if p.suffix in (".txt", ".md") and p.name != "SOURCE.md") + [
    p for p in examples() if p.suffix == ".md"]
STRATEGIES = ["markdown", "recursive", "fixed", "token", "custom"]
CUSTOM_SEPARATORS = ["---", "<!-- split -->", "。", "\n\n"]
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _custom_settings(draw: st.DrawFn) -> SplitSettings:
    separator = draw(st.sampled_from(CUSTOM_SEPARATORS))
    return draw(split_settings("custom", custom_separator=separator))


@pytest.mark.parametrize("strategy", ["markdown", "recursive", "fixed", "token"])
@FAST
@given(data=st.data())
def test_generated_documents_keep_invariants(strategy: str, data: st.DataObject) -> None:
    doc, truth = data.draw(documents())
    split = data.draw(split_settings(strategy))
    check_split(doc, split_text(doc, split), split, truth)


@FAST
@given(data=st.data())
def test_generated_documents_keep_invariants_custom(data: st.DataObject) -> None:
    split = _custom_settings(data.draw)
    doc, truth = data.draw(documents(custom_separator=split.custom_separator))
    check_split(doc, split_text(doc, split), split, truth)


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    from test_chunk_unit import train_tokenizer

    return train_tokenizer(tmp_path_factory.mktemp("tok"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_token_strategy_with_a_real_tokenizer(tokenizer_path: str, data: st.DataObject) -> None:
    doc, truth = data.draw(documents())
    split = data.draw(split_settings("token", tokenizer=tokenizer_path))
    result = split_text(doc, split)
    assert result.warnings == () or all("overlap" in w for w in result.warnings)
    check_split(doc, result, split, truth, measure=load_measure(tokenizer_path)[0])


@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_real_documents_keep_invariants(strategy: str, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(CORPUS_FILES))
    doc = path.read_text(encoding="utf-8")
    split = _custom_settings(data.draw) if strategy == "custom" else data.draw(split_settings(strategy))
    check_split(doc, split_text(doc, split), split)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_real_documents_concatenated_with_defaults(strategy: str) -> None:
    doc = "\n\n".join(p.read_text(encoding="utf-8") for p in CORPUS_FILES)
    split = SplitSettings(strategy=strategy)
    result = split_text(doc, split)
    check_split(doc, result, split)
    assert sum(len(c.text) >= split.min_length for c in result.chunks) >= len(result.chunks) - 2
