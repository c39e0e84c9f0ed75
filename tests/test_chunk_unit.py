"""Table-driven unit tests of the chunk stage: edge cases, each strategy's conventions, the TOC, warnings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from loreforge.chunk import SplitResult, extract_toc, split_text
from loreforge.chunk.token import NOT_SET_WARNING, load_measure
from loreforge.errors import ConfigError
from loreforge.settings import SplitSettings
from test_chunk_checker import CJK_CHARS, EN_WORDS, check_split

STRATEGIES = ["markdown", "recursive", "fixed", "token", "custom"]


def train_tokenizer(folder: Path) -> str:
    """A tiny BPE tokenizer trained on the fly (tokenizer.json in `folder`); returns the folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]"], show_progress=False)
    lines = [" ".join(EN_WORDS), CJK_CHARS + "。！？；，", "| --- | x = 1 * y ``` # ~~~"] * 20
    tokenizer.train_from_iterator(lines, trainer)
    tokenizer.save(str(folder / "tokenizer.json"))
    return str(folder)


def split(doc: str, **values: object) -> SplitResult:
    settings = SplitSettings(**values)  # type: ignore[arg-type]
    result = split_text(doc, settings)
    check_split(doc, result, settings)
    return result


def en_text(sentences: int) -> str:
    return " ".join(
        " ".join(EN_WORDS[(i * 3 + j) % len(EN_WORDS)] for j in range(8)).capitalize() + "."
        for i in range(sentences)
    )


def cjk_text(sentences: int) -> str:
    return "".join(
        "".join(CJK_CHARS[(i * 5 + j) % len(CJK_CHARS)] for j in range(10 + i % 17)) + "。！？；"[i % 4]
        for i in range(sentences)
    )


# -- edge cases, every strategy ------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("doc", ["", "   ", "\n\n\t \n"])
def test_empty_input_gives_no_chunks(strategy: str, doc: str) -> None:
    assert split(doc, strategy=strategy).chunks == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_short_document_is_one_chunk(strategy: str) -> None:
    result = split("  # Title\n\nA short text.  \n", strategy=strategy)
    assert [c.text for c in result.chunks] == ["# Title\n\nA short text."]
    assert result.chunks[0].start == 2 and result.chunks[0].heading_path == ("Title",)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_one_huge_paragraph_is_cut_at_sentence_ends(strategy: str) -> None:
    doc = en_text(400)
    result = split(doc, strategy=strategy, min_length=200, max_length=600, chunk_size=400)
    assert len(result.chunks) > 10
    for chunk in result.chunks:
        assert chunk.text.endswith("."), chunk.text[-30:]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cjk_without_spaces_is_cut_after_sentence_marks(strategy: str) -> None:
    doc = cjk_text(600)
    assert " " not in doc
    result = split(doc, strategy=strategy, min_length=100, max_length=400, chunk_size=300)
    assert len(result.chunks) > 10
    for chunk in result.chunks:
        assert chunk.text[-1] in "。！？；", chunk.text[-20:]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("kind", ["latin", "cjk"])
def test_two_megabyte_single_line_is_cut_without_pathology(strategy: str, kind: str) -> None:
    unit = "x" if kind == "latin" else CJK_CHARS
    doc = (unit * (2_000_000 // len(unit) + 1))[:2_000_000]
    started = time.perf_counter()
    settings = SplitSettings(strategy=strategy, min_length=800, max_length=1500, chunk_size=1200)
    result = split_text(doc, settings)
    elapsed = time.perf_counter() - started
    # a generous bound that only a pathological (e.g. quadratic) cut search can miss; speed itself is
    # measured by bench/split.py, not here
    assert elapsed < 30.0, f"{elapsed:.2f}s"
    assert all(len(c.text) <= 1500 for c in result.chunks)
    assert "".join(c.text[c.overlap :] for c in result.chunks) == doc


def big_table(rows: int) -> str:
    header = "| 公司 | revenue | growth |\n| --- | ---: | :---: |"
    body = "\n".join(f"| {CJK_CHARS[i % 30:i % 30 + 4]} | {i * 1000} | {i % 97}% |" for i in range(rows))
    return header + "\n" + body


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_table_longer_than_max_repeats_its_header(strategy: str) -> None:
    table = big_table(200)
    doc = "# Results\n\nIntro text.\n\n" + table + "\n\nAfter the table."
    result = split(doc, strategy=strategy, min_length=100, max_length=500, chunk_size=400)
    header = "| 公司 | revenue | growth |\n| --- | ---: | :---: |\n"
    in_table = [c for c in result.chunks if c.carried]
    assert len(in_table) > 5
    for chunk in in_table:
        assert chunk.carried == header and chunk.text.startswith(header)
        body = chunk.text[len(header) :].split("\nAfter")[0]
        assert all(line.startswith("| ") and line.endswith("|") for line in body.splitlines()), body


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_code_fence_longer_than_max_is_split_between_lines_and_reopened(strategy: str) -> None:
    code = "\n".join(f"    total_{i} = compute(value_{i}, factor={i})" for i in range(120))
    doc = "Some text.\n\n```python\n" + code + "\n```\n\nMore text."
    result = split(doc, strategy=strategy, min_length=50, max_length=400, chunk_size=300)
    continued = [c for c in result.chunks if c.carried]
    assert len(continued) > 5
    for chunk in continued:
        assert chunk.carried == "```python\n"
        first_line = chunk.text[len(chunk.carried) :].split("\n")[0]
        assert first_line.startswith("    total_"), "indentation of the first code line is kept"
    for chunk in result.chunks[:-1]:
        assert chunk.text.endswith(")") or chunk.text.endswith("```") or chunk.text.endswith(".")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_small_table_and_code_stay_whole(strategy: str) -> None:
    table = big_table(5)
    code = "```\nprint('hi')\nprint('there')\n```"
    doc = en_text(6) + "\n\n" + table + "\n\n" + en_text(3) + "\n\n" + code + "\n\n" + en_text(6)
    result = split(doc, strategy=strategy, min_length=0, max_length=300, chunk_size=200)
    assert any(table in c.text for c in result.chunks)
    assert any(code in c.text for c in result.chunks)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_headings_only_document(strategy: str) -> None:
    doc = "\n\n".join(f"{'#' * (1 + i % 3)} Heading number {i}" for i in range(200))
    result = split(doc, strategy=strategy, min_length=0, max_length=200, chunk_size=150)
    assert len(result.chunks) > 10
    assert len(extract_toc(doc)) == 67


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_crlf_is_tolerated_and_offsets_stay_exact(strategy: str) -> None:
    section = "# Title\n\n" + en_text(30).replace(". ", ".\n") + "\n\n```\n# code\n```\n\nNext\n---\n\n| a |\n| - |\n| 1 |\n"
    doc = (section * 3).replace("\n", "\r\n")
    result = split(doc, strategy=strategy, min_length=50, max_length=300, chunk_size=200)
    assert all("\r\n" not in c.text[-2:] for c in result.chunks)
    assert [(e.level, e.title) for e in extract_toc(doc)[0].children] == [(2, "Next")]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_whitespace_runs_are_never_chunks(strategy: str) -> None:
    doc = "Start." + " " * 5000 + "\n\n" + "\t" * 3000 + "Middle." + "\n" * 4000 + "End."
    result = split(doc, strategy=strategy, min_length=0, max_length=100, chunk_size=50)
    assert [c.text for c in result.chunks] == ["Start.", "Middle.", "End."]


# -- markdown strategy --------------------------------------------------------------------------------
def test_markdown_heading_stays_with_its_body() -> None:
    doc = "# Part\n\n" + en_text(8) + "\n\n## Section\n\n" + en_text(8) + "\n\n### Sub\n\n" + en_text(8)
    result = split(doc, min_length=0, max_length=len(en_text(8)) + 40)
    for chunk in result.chunks:
        assert not chunk.text.splitlines()[-1].startswith("#")
    assert [c.heading_path for c in result.chunks] == [("Part",), ("Part", "Section"), ("Part", "Section", "Sub")]


def test_markdown_merges_small_sections_up_to_max() -> None:
    doc = "\n\n".join(f"## Section {i}\n\n{en_text(2)}" for i in range(30))
    result = split(doc, min_length=300, max_length=800)
    assert len(result.chunks) < 15
    for chunk in result.chunks:
        assert chunk.text.startswith("## Section ")
        assert 300 <= len(chunk.text) <= 800 or chunk is result.chunks[-1]


def test_markdown_prefers_higher_level_headings() -> None:
    part = "# Part {n}\n\n" + en_text(3) + "\n\n## A\n\n" + en_text(3) + "\n\n## B\n\n" + en_text(3)
    doc = "\n\n".join(part.format(n=n) for n in range(4))
    result = split(doc, min_length=100, max_length=len(part) + 20)
    assert [c.text.split("\n")[0] for c in result.chunks] == [f"# Part {n}" for n in range(4)]


def test_markdown_keeps_a_fitting_section_whole_rather_than_reaching_min() -> None:
    first = "# One\n\n" + en_text(3)
    second = "# Two\n\n" + en_text(9)
    doc = first + "\n\n" + second + "\n\n# Three\n\n" + en_text(9)
    result = split(doc, min_length=len(first) + 50, max_length=len(second) + 10)
    assert result.chunks[0].text == first
    assert result.chunks[1].text == second


def test_markdown_bold_line_labels_start_chunks_and_are_not_headings() -> None:
    section = "**营收结构**\n\n" + cjk_text(40)
    doc = "# 财报\n\n" + "\n\n".join(section for _ in range(6))
    result = split(doc, min_length=100, max_length=len(section) + 30)
    assert all(c.text.startswith(("# 财报", "**营收结构**")) for c in result.chunks)
    assert all(not c.text.endswith("**") for c in result.chunks)
    assert {c.heading_path for c in result.chunks} == {("财报",)}
    assert [e.title for e in extract_toc(doc)] == ["财报"]


def test_token_target_below_min_length_ends_at_a_boundary_past_min() -> None:
    result = split(cjk_text(300), strategy="token", chunk_size=50, min_length=300, max_length=1000)
    assert all(300 <= len(c.text) for c in result.chunks[:-1])
    assert all(c.text[-1] in "。！？；" for c in result.chunks)


def test_deep_heading_paths() -> None:
    doc = "".join(f"{'#' * level} H{level}\n\n" + en_text(4) + "\n\n" for level in range(1, 7)) + "## Back\n\nEnd."
    result = split(doc, min_length=0, max_length=len(en_text(4)) + 20)
    paths = [c.heading_path for c in result.chunks]
    assert ("H1", "H2", "H3", "H4", "H5", "H6") in paths
    assert paths[-1] == ("H1", "Back")


def test_headings_inside_code_fences_are_not_headings() -> None:
    doc = "# Real\n\n```bash\n# not a heading\n## nor this\n```\n\n~~~\n# nor this\n~~~\n\n## Also real\n\ntext"
    toc = extract_toc(doc)
    assert [(e.level, e.title) for e in toc] == [(1, "Real")]
    assert [(e.level, e.title) for e in toc[0].children] == [(2, "Also real")]
    result = split(doc, min_length=0, max_length=40)
    assert all(c.heading_path[:1] == ("Real",) for c in result.chunks)


# -- TOC ------------------------------------------------------------------------------------------------
def test_toc_nests_by_level_with_offsets() -> None:
    doc = "Intro\n\n# A #\n\ntext\n\n### A.1 (skipped level)\n\n## A.2\n\nSetext B\n========\n\nSub\n---\n\n#hashtag\n"
    toc = extract_toc(doc)
    assert [e.to_dict()["title"] for e in toc] == ["A", "Setext B"]
    a, b = toc
    assert doc[a.start :].startswith("# A #")
    assert [(c.level, c.title) for c in a.children] == [(3, "A.1 (skipped level)"), (2, "A.2")]
    assert doc[b.start :].startswith("Setext B") and [c.title for c in b.children] == ["Sub"]


@pytest.mark.parametrize(
    "doc, titles",
    [
        ("####### seven hashes\n", []),
        ("#\n", [""]),
        ("    # indented code\n", []),
        ("text\n\n---\n", []),
        ("- item\n---\n", []),
        ("```x```\n# inline code is not a fence\n", ["inline code is not a fence"]),
        ("```\nunclosed fence\n# inside\n", []),
        ("| a | b |\n| - | - |\n# after table\n", ["after table"]),
    ],
)
def test_toc_edge_cases(doc: str, titles: list[str]) -> None:
    assert [e.title for e in extract_toc(doc)] == titles


# -- token strategy ---------------------------------------------------------------------------------------
def test_token_without_tokenizer_warns_and_estimates() -> None:
    result = split(cjk_text(200), strategy="token", chunk_size=100, min_length=0, max_length=2000)
    assert result.warnings == (NOT_SET_WARNING,)
    assert all(len(c.text) <= 100 for c in result.chunks)  # CJK: about one token per character


@pytest.mark.parametrize("bad", ["/nonexistent/tokenizer.json", "/nonexistent-folder"])
def test_token_with_missing_tokenizer_warns(bad: str) -> None:
    result = split(en_text(50), strategy="token", tokenizer=bad)
    assert len(result.warnings) == 1 and bad in result.warnings[0] and "nothing is downloaded" in result.warnings[0]


def test_token_with_unreadable_tokenizer_warns(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{not json")
    result = split(en_text(50), strategy="token", tokenizer=str(tmp_path))
    assert len(result.warnings) == 1 and "could not be read" in result.warnings[0]


def test_token_with_local_tokenizer_counts_tokens(tmp_path: Path) -> None:
    folder = train_tokenizer(tmp_path)
    measure, warning = load_measure(folder)
    assert warning is None
    doc = en_text(300)
    settings = SplitSettings(
        strategy="token", tokenizer=folder, chunk_size=64, overlap=8, min_length=0, max_length=4000
    )
    result = split_text(doc, settings)
    check_split(doc, result, settings, measure=measure)
    assert result.warnings == ()
    counts = [measure.count(c.text) for c in result.chunks]
    assert max(counts) <= 64 and min(counts[:-1]) > 40
    assert all(c.overlap > 0 for c in result.chunks[1:])


# -- overlap, recursive, fixed, custom ------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["recursive", "fixed"])
def test_overlap_repeats_the_end_of_the_previous_chunk_from_a_clean_start(strategy: str) -> None:
    doc = en_text(200)
    result = split(doc, strategy=strategy, chunk_size=400, overlap=100, min_length=0, max_length=600)
    for prev, chunk in zip(result.chunks, result.chunks[1:]):
        assert 0 < chunk.overlap <= 100
        repeated = chunk.text[: chunk.overlap]
        assert prev.text.endswith(repeated)
        assert doc[chunk.start - 1] == " " and repeated[0].isupper(), "overlap starts at a sentence start"


def test_recursive_uses_the_separator_priority_list() -> None:
    doc = "a-b-c|d-e-f|g-h-i|" * 40
    result = split(doc, strategy="recursive", separators=["|", "-"], chunk_size=30, min_length=0, max_length=40)
    assert all(c.text.endswith("|") for c in result.chunks)
    result = split(doc, strategy="recursive", separators=["-"], chunk_size=30, min_length=0, max_length=40)
    assert all(c.text.endswith(("-", "|")) for c in result.chunks[:-1])


def test_recursive_whitespace_separator_starts_the_next_chunk() -> None:
    doc = "alpha beta gamma delta epsilon zeta eta theta"
    result = split(doc, strategy="recursive", separators=[" "], chunk_size=12, min_length=0, max_length=20)
    assert [c.text for c in result.chunks] == ["alpha beta", "gamma delta", "epsilon zeta", "eta theta"]


def test_fixed_cuts_near_the_target_at_the_best_boundary() -> None:
    doc = "\n\n".join(en_text(3) for _ in range(60))
    paragraph = len(en_text(3)) + 2
    result = split(doc, strategy="fixed", chunk_size=paragraph * 3, min_length=0, max_length=paragraph * 5)
    for chunk in result.chunks[:-1]:
        assert abs(len(chunk.text) - paragraph * 3) <= paragraph * 3 // 10 + 2
        assert chunk.text.endswith(".")


@pytest.mark.parametrize("separator", ["---", "<!-- split -->", "§"])
def test_custom_separator_ends_the_chunk_it_closes(separator: str) -> None:
    pieces = [en_text(2 + i % 3) for i in range(12)]
    doc = f"\n{separator}\n".join(pieces)
    result = split(doc, strategy="custom", custom_separator=separator, min_length=0, max_length=2000)
    assert [c.text for c in result.chunks[:-1]] == [p + "\n" + separator for p in pieces[:-1]]
    merged = split(doc, strategy="custom", custom_separator=separator, min_length=300, max_length=2000)
    assert all(c.text.endswith(separator) and len(c.text) >= 300 for c in merged.chunks[:-1])


def test_custom_piece_longer_than_max_is_cut_at_sentences() -> None:
    doc = en_text(100) + "\n---\n" + en_text(3)
    result = split(doc, strategy="custom", min_length=0, max_length=500)
    assert all(c.text.endswith((".", "---")) for c in result.chunks)


# -- warnings and errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["markdown", "custom"])
def test_overlap_is_reported_unused_for_section_strategies(strategy: str) -> None:
    result = split(en_text(30), strategy=strategy, overlap=50)
    assert len(result.warnings) == 1 and "split.overlap (50) is not used" in result.warnings[0]
    assert all(c.overlap == 0 for c in result.chunks)


def test_chunk_size_outside_min_max_is_clamped_with_a_warning() -> None:
    result = split(en_text(60), strategy="fixed", chunk_size=5000, min_length=100, max_length=800, overlap=10)
    assert any("split.chunk_size (5000)" in w for w in result.warnings)
    assert all(len(c.text) <= 800 for c in result.chunks)


def test_overlap_larger_than_half_the_chunk_is_reduced_with_a_warning() -> None:
    result = split(en_text(60), strategy="recursive", chunk_size=200, overlap=150, min_length=0, max_length=400)
    assert any("split.overlap (150 characters)" in w for w in result.warnings)
    assert all(c.overlap <= 100 for c in result.chunks)


def test_unknown_strategy_is_a_config_error() -> None:
    settings = SplitSettings.model_construct(**{**SplitSettings().model_dump(), "strategy": "nope"})
    with pytest.raises(ConfigError, match="Unknown split strategy"):
        split_text("text", settings)


def test_heading_before_a_table_of_exactly_max_length_stays_whole() -> None:
    """Found by the property test on the shipped example: a heading, then a table exactly `max_length` long.
    With min_length 0 the target window of `fixed` lay entirely inside the table, and the cut after the heading
    (the weakest candidate, below the target window) was never looked at: the table was cut at max_length."""
    table = "| a | b |\n|---|---|\n" + "".join(f"| row {i:02d} | {i * 7:04d} |\n" for i in range(12))
    table = table.rstrip("\n")
    doc = "Opening paragraph of text.\n\n## Figures\n\n" + table + "\n\n## Next\n\nMore text after the table."
    split = SplitSettings(strategy="fixed", chunk_size=len(table) - 10, max_length=len(table), overlap=0, min_length=0)
    result = split_text(doc, split)
    check_split(doc, result, split)
    assert any(c.text == table for c in result.chunks)
