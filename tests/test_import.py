"""Dataset import: every layout in every file type (table-driven), the shapes LoreForge's exporter writes
(import → re-export gives the same records), and every kind of bad input: wrong columns, mixed types,
invalid JSON lines, empty fields, CSV quoting, non-UTF-8 bytes, unknown extensions and a 100 MB file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from loreforge.errors import NotFound, UserError
from loreforge.review import (
    ImportedPair,
    ImportFailed,
    ImportIssue,
    iter_dataset,
    read_dataset,
)

REPO = Path(__file__).resolve().parent.parent
Record = dict[str, Any]


def cell(value: Any) -> str:
    """A CSV cell as the exporter writes it: text as is, None empty, anything else JSON."""
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)


def write(path: Path, records: list[Record]) -> Path:
    """Write records the way the exporter's writers do: JSON array, JSONL, or CSV with JSON-encoded cells."""
    if path.suffix == ".json":
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    else:
        fields = list(dict.fromkeys(k for r in records for k in r))
        with path.open("w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle, lineterminator="\r\n")
            out.writerow(fields)
            for r in records:
                out.writerow([cell(r.get(f)) for f in fields])
    return path


Turns = tuple[tuple[str, str], ...]


def pair(question: str, answer: str, cot: str = "", system: str = "", tag: str = "", history: Turns = ()) -> ImportedPair:
    return ImportedPair(question, answer, cot, system, tag, history)


def bare(pairs: list[ImportedPair]) -> list[ImportedPair]:
    """The pairs without their record/line positions."""
    return [pair(p.question, p.answer, p.cot, p.system, p.tag, p.history) for p in pairs]


# --- every layout, every file type --------------------------------------------------------------------------

LAYOUTS: dict[str, tuple[list[Record], list[ImportedPair]]] = {
    "alpaca": (
        [
            {"instruction": "什么是LoRA？", "input": "", "output": "低秩适配。", "system": "你是助手", "history": [["q0", "a0"]]},
            {"instruction": "翻译", "input": "你好", "output": "Hello", "system": "", "history": []},
            {"instruction": "Q3", "input": "", "output": "<think>先想</think>\n\nA3", "system": "", "history": []},
        ],
        [
            pair("什么是LoRA？", "低秩适配。", system="你是助手", history=(("q0", "a0"),)),
            pair("翻译\n\n你好", "Hello"),
            pair("Q3", "A3", cot="先想"),
        ],
    ),
    "sharegpt": (
        [
            {"conversations": [{"from": "human", "value": "q0"}, {"from": "gpt", "value": "a0"},
                               {"from": "human", "value": "q1"}, {"from": "gpt", "value": "a1"}], "system": "S"},
            {"conversations": [{"from": "system", "value": "S2"}, {"from": "user", "value": "q2"},
                               {"from": "assistant", "value": "<think>t</think>a2"}], "system": ""},
        ],
        [pair("q1", "a1", system="S", history=(("q0", "a0"),)), pair("q2", "a2", cot="t", system="S2")],
    ),
    "messages": (
        [
            {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},
                          {"role": "assistant", "content": "A", "reasoning_content": "R"}]},
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "Q2"}]},
                          {"role": "assistant", "content": "A2", "thinking": "T2"}]},
        ],
        [pair("Q", "A", cot="R", system="S"), pair("Q2", "A2", cot="T2")],
    ),
    "multilingual-thinking": (
        [
            {"reasoning_language": "English", "developer": "", "user": "Q", "analysis": None, "final": "A",
             "messages": [{"content": "", "role": "system", "thinking": None},
                          {"content": "Q", "role": "user", "thinking": None},
                          {"content": "A", "role": "assistant", "thinking": None}]},
            {"reasoning_language": "Chinese", "developer": "你是助手", "user": "Q2", "analysis": "想", "final": "A2",
             "messages": [{"content": "你是助手", "role": "system", "thinking": None},
                          {"content": "Q2", "role": "user", "thinking": None},
                          {"content": "A2", "role": "assistant", "thinking": "想"}]},
        ],
        [pair("Q", "A"), pair("Q2", "A2", cot="想", system="你是助手")],
    ),
    "question/answer": (
        [
            {"question": "Q", "answer": "A", "cot": "C", "tag": "财务"},
            {"question": "Q2", "answer": "A2", "cot": "", "tag": ""},
        ],
        [pair("Q", "A", cot="C", tag="财务"), pair("Q2", "A2")],
    ),
}
DETECTED = {"question/answer": "custom"}


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layouts_in_every_file_type(tmp_path: Path, layout: str, suffix: str) -> None:
    records, expected = LAYOUTS[layout]
    path = write(tmp_path / f"data{suffix}", records)
    result = read_dataset(path)
    assert result.format == DETECTED.get(layout, layout)
    assert bare(result.pairs) == expected
    assert result.errors == []
    assert [p.record for p in result.pairs] == list(range(1, len(records) + 1))
    named = layout if layout in ("alpaca", "sharegpt", "messages", "multilingual-thinking") else "auto"
    assert bare(read_dataset(path, format=named).pairs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
def test_custom_mapping(tmp_path: Path, suffix: str) -> None:
    records = [
        {"q": "Q1", "a": "A1", "reasoning": "R1", "category": "营收", "extra": 1},
        {"q": "Q2", "a": "<think>R2</think>A2", "reasoning": "", "category": "", "extra": 2},
    ]
    path = write(tmp_path / f"data{suffix}", records)
    mapping = {"question": "q", "answer": "a", "cot": "reasoning", "tag": "category"}
    result = read_dataset(path, mapping=mapping)
    assert result.format == "custom"
    assert bare(result.pairs) == [pair("Q1", "A1", cot="R1", tag="营收"), pair("Q2", "A2", cot="R2")]
    assert read_dataset(path, format="custom", mapping=mapping).pairs == result.pairs


def test_custom_mapping_with_history_in_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", [{"q": "Q", "a": "A", "h": [["q0", "a0"], ["q1", "a1"]]}])
    result = read_dataset(path, mapping={"question": "q", "answer": "a", "history": "h"})
    assert result.pairs[0].history == (("q0", "a0"), ("q1", "a1"))


# --- round trip through the shapes LoreForge exports (loreforge.export.formats) ----------------------------------

ORIGINAL = [
    pair("快手二季度营收多少？", "约310亿元。", cot="看财报。", history=(("快手是什么？", "一家公司。"),)),
    pair("Q, \"quoted\"\nline two", "A with, commas\nand \"quotes\"", cot=""),
]


def export_record(p: ImportedPair, layout: str, cot: str, system: str = "SYS") -> Record:
    """What the exporter writes for one pair (per the layouts documented in loreforge.export.formats)."""
    answer = f"<think>{p.cot}</think>\n\n{p.answer}" if cot == "think" and p.cot else p.answer
    if layout == "alpaca":
        record: Record = {"instruction": p.question, "input": "", "output": answer, "system": system,
                          "history": [list(t) for t in p.history]}
    elif layout == "sharegpt":
        turns = [{"from": f, "value": v} for q, a in p.history for f, v in (("human", q), ("gpt", a))]
        record = {"conversations": turns + [{"from": "human", "value": p.question}, {"from": "gpt", "value": answer}],
                  "system": system}
    elif layout == "messages":
        turns = [{"role": r, "content": v} for q, a in p.history for r, v in (("user", q), ("assistant", a))]
        record = {"messages": [{"role": "system", "content": system}] + turns
                  + [{"role": "user", "content": p.question}, {"role": "assistant", "content": answer}]}
    else:
        thinking = p.cot if cot != "none" and p.cot else None
        return {"reasoning_language": "English", "developer": system, "user": p.question, "analysis": thinking,
                "final": p.answer, "messages": [{"content": system, "role": "system", "thinking": None},
                                                 {"content": p.question, "role": "user", "thinking": None},
                                                 {"content": p.answer, "role": "assistant", "thinking": thinking}]}
    if cot == "field":
        record["cot"] = p.cot
    return record


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
@pytest.mark.parametrize("cot", ["think", "field", "none"])
@pytest.mark.parametrize("layout", ["alpaca", "sharegpt", "messages", "multilingual-thinking"])
def test_export_shapes_round_trip(tmp_path: Path, layout: str, cot: str, suffix: str) -> None:
    originals = ORIGINAL if layout != "multilingual-thinking" else [pair(p.question, p.answer, p.cot) for p in ORIGINAL]
    written = [export_record(p, layout, cot) for p in originals]
    result = read_dataset(write(tmp_path / f"export{suffix}", written))
    assert result.format == layout
    kept_cot = [p.cot if cot != "none" else "" for p in originals]
    assert [p.cot for p in result.pairs] == kept_cot
    assert [(p.question, p.answer, p.system, p.history) for p in result.pairs] == [
        (p.question, p.answer, "SYS", p.history) for p in originals
    ]
    again = [export_record(p, layout, cot) for p in result.pairs]
    assert again == written


# --- bad input -------------------------------------------------------------------------------------------------


def failure(path: Path, **kwargs: Any) -> ImportFailed:
    with pytest.raises(ImportFailed) as info:
        read_dataset(path, **kwargs)
    return info.value


def test_wrong_columns_name_the_record_and_the_expected_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [
        {"instruction": "Q1", "output": "A1"},
        {"instruction": "Q2", "output": "A2"},
        {"prompt": "Q3", "output": "A3"},
        {"instruction": "Q4", "response": "A4"},
    ])
    err = failure(path)
    assert [i.message for i in err.issues] == [
        "record 3 (line 3): no 'instruction' field — expected alpaca fields instruction/output (or pass a mapping)",
        "record 4 (line 4): no 'output' field — expected alpaca fields instruction/output (or pass a mapping)",
    ]
    assert (err.issues[0].record, err.issues[0].line) == (3, 3)
    assert err.good == 2 and "keep_good_lines" in str(err)


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
def test_unknown_layout_fails_at_once_naming_the_fields(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"d{suffix}", [{"prompt": "Q", "completion": "A"}] * 3)
    err = failure(path)
    assert len(err.issues) == 1
    assert "record 1" in str(err) and "'prompt', 'completion'" in str(err)
    assert "instruction/output" in str(err) and "mapping" in str(err)
    pairs = read_dataset(path, mapping={"question": "prompt", "answer": "completion"}).pairs
    assert bare(pairs) == [pair("Q", "A")] * 3


def test_custom_mapping_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", [{"q": "Q", "a": "A"}])
    err = failure(path, mapping={"question": "q", "answer": "answer"})
    assert err.issues[0].message == "record 1 (line 2): no 'answer' field — expected the mapped fields 'q'/'answer'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(42, "42"), (3.5, "3.5"), (True, "true"), (0, "0")],
)
def test_numbers_where_text_is_expected_become_text(tmp_path: Path, value: Any, expected: str) -> None:
    path = write(tmp_path / "d.jsonl", [{"instruction": "Q", "output": value, "system": 7}])
    result = read_dataset(path)
    assert (result.pairs[0].answer, result.pairs[0].system, result.errors) == (expected, "7", [])


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"instruction": "Q", "output": ["a", "b"]}, "'output' is a list — expected text"),
        ({"instruction": {"text": "Q"}, "output": "A"}, "'instruction' is an object — expected text"),
        ({"instruction": "Q", "output": ""}, "'output' is empty"),
        ({"instruction": "  ", "output": "A"}, "'instruction' is empty"),
        ({"instruction": "Q", "output": None}, "'output' is empty"),
        ({"instruction": "Q", "output": "<think>only thoughts</think>"}, "the answer is empty"),
        ({"instruction": "Q", "output": "A", "history": "q0"}, "'history' must be a list of [question, answer] pairs"),
        (
            {"instruction": "Q", "output": "A", "history": [["q0"]]},
            "'history' must be a list of [question, answer] pairs, got [\"q0\"]",
        ),
    ],
)
def test_bad_alpaca_fields(tmp_path: Path, record: Record, message: str) -> None:
    path = write(tmp_path / "d.jsonl", [{"instruction": "ok", "output": "ok"}, record])
    assert [i.message for i in failure(path).issues] == [f"record 2 (line 2): {message}"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"conversations": [{"from": "human", "value": "Q"}]}, "'conversations' does not end with an assistant reply"),
        ({"conversations": [{"from": "gpt", "value": "A"}, {"from": "gpt", "value": "A"}]},
         "'conversations' must alternate user and assistant turns, got assistant/assistant"),
        ({"conversations": [{"from": "human", "value": "Q"}, {"from": "function_call", "value": "{}"},
                            {"from": "gpt", "value": "A"}]},
         "'conversations' has a 'function_call' turn — only system, user and assistant turns can be imported"),
        ({"conversations": "not a list"}, "'conversations' must be a list of message objects"),
        (
            {"conversations": [{"from": "human", "value": ""}, {"from": "gpt", "value": "A"}]},
            "'conversations' has an empty question",
        ),
        ({"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": " "}]}, "the answer is empty"),
    ],
)
def test_bad_sharegpt_records(tmp_path: Path, record: Record, message: str) -> None:
    good = {"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}
    path = write(tmp_path / "d.jsonl", [good, record])
    assert [i.message for i in failure(path).issues] == [f"record 2 (line 2): {message}"]


def test_bad_messages_record(tmp_path: Path) -> None:
    image = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
                          {"role": "assistant", "content": "A"}]}
    good = {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    path = write(tmp_path / "d.json", [good, image])
    assert [i.message for i in failure(path).issues] == [
        "record 2 (line 14): 'messages' holds non-text parts — only text messages can be imported"
    ]


JSONL_WITH_BAD_LINES = (
    '{"instruction": "Q1", "output": "A1"}\n'
    "\n"
    '{"instruction": "Q2", "output": "A2"\n'
    "not json at all\n"
    '{"instruction": "Q3", "output": "A3"}\n'
    '["a", "list"]\n'
)


def test_invalid_jsonl_lines_fail_the_import_listing_every_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(JSONL_WITH_BAD_LINES, encoding="utf-8")
    err = failure(path)
    assert [(i.line, i.record) for i in err.issues] == [(3, None), (4, None), (6, 5)]
    assert err.issues[0].message == "line 3: invalid JSON — Expecting ',' delimiter at column 37"
    assert err.issues[2].message == "record 5 (line 6): expected an object with the record's fields, got a list"
    assert str(err).startswith("Cannot import d.jsonl — 3 problems: line 3: invalid JSON")
    assert err.http_status == 422 and isinstance(err, UserError)


def test_keep_good_lines_keeps_them_and_returns_the_issues(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(JSONL_WITH_BAD_LINES, encoding="utf-8")
    result = read_dataset(path, keep_good_lines=True)
    assert bare(result.pairs) == [pair("Q1", "A1"), pair("Q3", "A3")]
    assert [(p.record, p.line) for p in result.pairs] == [(1, 1), (4, 5)]
    assert [i.line for i in result.errors] == [3, 4, 6]
    assert result.format == "alpaca"


def test_keep_good_lines_with_nothing_good_still_fails(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("nope\n{bad\n", encoding="utf-8")
    assert len(failure(path, keep_good_lines=True).issues) == 2


def test_json_array_syntax_error_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    text = '[\n{"instruction": "Q1", "output": "A1"},\n{"instruction": "Q2", "output": }\n]\n'
    path.write_text(text, encoding="utf-8")
    err = failure(path)
    assert [(i.line, i.message) for i in err.issues] == [(3, "line 3: invalid JSON — Expecting value")]
    assert bare(read_dataset(path, keep_good_lines=True).pairs) == [pair("Q1", "A1")]


def test_json_array_streams_across_small_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import loreforge.review.readers as readers

    monkeypatch.setattr(readers, "READ_CHUNK", 7)
    records = [{"instruction": f"问题{i}", "output": f"答案 {i}, \"引号\"", "history": [["a", "b"]]} for i in range(30)]
    path = tmp_path / "d.json"
    path.write_text("\n\n" + json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    result = read_dataset(path)
    assert bare(result.pairs) == [pair(f"问题{i}", f'答案 {i}, "引号"', history=(("a", "b"),)) for i in range(30)]
    assert [p.line for p in result.pairs[:3]] == [4, 14, 24]


def test_truncated_json_array(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('[{"instruction": "Q1", "output": "A1"},\n{"instruction": "Q2", "out', encoding="utf-8")
    err = failure(path)
    assert [i.message for i in err.issues] == ["line 2: invalid JSON — Unterminated string starting at"]
    assert str(err).endswith("keep the good record and skip the bad ones.")


@pytest.mark.parametrize("key", ["data", "items"])
def test_json_object_with_a_record_list(tmp_path: Path, key: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"version": 1, key: [{"instruction": "Q", "output": "A"}]}), encoding="utf-8")
    assert bare(read_dataset(path).pairs) == [pair("Q", "A")]


def test_json_object_without_a_record_list(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"instruction": "Q", "output": "A"}), encoding="utf-8")
    assert "expected an array of records, or an object with a list under 'data' or 'items'" in str(failure(path))


def test_csv_quoting_newlines_bom_crlf_and_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(
        "\ufeffinstruction, output ,system\r\n"
        '"Q, with comma","line one\r\nline two ""quoted""",\r\n'
        "\r\n"
        'Q2,"multi\nline\n\nanswer",S\r\n'.encode("utf-8")
    )
    result = read_dataset(path)
    assert bare(result.pairs) == [
        pair("Q, with comma", 'line one\r\nline two "quoted"'),
        pair("Q2", "multi\nline\n\nanswer", system="S"),
    ]
    assert [(p.record, p.line) for p in result.pairs] == [(1, 2), (2, 5)]


def test_csv_row_with_wrong_cell_count(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("instruction,output\nQ1,A1\nQ2,A2,extra\nQ3\n", encoding="utf-8")
    assert [i.message for i in failure(path).issues] == [
        "record 2 (line 3): has 3 cells but the header has 2",
        "record 3 (line 4): has 1 cells but the header has 2",
    ]


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
def test_not_utf8_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    records = [{"instruction": "快手营收多少？", "output": "约310亿元。"}]
    text = write(tmp_path / f"utf8{suffix}", records).read_text(encoding="utf-8")
    path = tmp_path / f"gbk{suffix}"
    path.write_bytes(text.encode("gbk"))
    for keep in (False, True):
        err = failure(path, keep_good_lines=keep)
        assert "not UTF-8 text" in str(err) and "iconv -f GBK" in str(err)
    if suffix != ".json":
        assert err.issues[0].line is not None


def test_not_utf8_late_in_the_file_after_good_records_are_streamed(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"instruction": "Q", "output": "A"}\n' * 3 + '{"instruction": "营收"}\n'.encode("gbk"))
    stream = iter(iter_dataset(path))
    assert [next(stream) for _ in range(3)] == [ImportedPair("Q", "A", record=n, line=n) for n in (1, 2, 3)]
    with pytest.raises(ImportFailed, match="line 4: not UTF-8 text"):
        next(stream)


@pytest.mark.parametrize("name", ["d.txt", "d.parquet", "d.xlsx", "data"])
def test_unknown_extension_lists_supported_ones(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match=r"expected \.jsonl, \.json, \.csv"):
        read_dataset(tmp_path / name)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        read_dataset(tmp_path / "absent.jsonl")
    for name, text in (("e.jsonl", "\n\n"), ("e.json", "[]"), ("e.csv", "instruction,output\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(UserError, match="holds no records"):
            read_dataset(tmp_path / name)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": "custom"}, "needs a mapping"),
        ({"mapping": {"question": "q", "answers": "a"}}, "Unknown field.*'answers'"),
        ({"mapping": {"question": "q"}}, "names no column for answer"),
        ({"format": "yaml"}, "Unknown import format 'yaml'"),
        ({"format": "alpaca", "mapping": {"question": "q", "answer": "a"}}, "only applies to the custom format"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    path = write(tmp_path / "d.jsonl", [{"q": "Q", "a": "A"}])
    with pytest.raises(UserError, match=match):
        read_dataset(path, **kwargs)


def test_issue_str_is_its_message() -> None:
    assert str(ImportIssue(3, 2, "record 2 (line 3): x")) == "record 2 (line 3): x"


# --- a 100 MB file streams -------------------------------------------------------------------------------------

_STREAM_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from loreforge.review import ImportedPair, iter_dataset
    path = Path(sys.argv[1])
    line = json.dumps({"instruction": "快手2024年第二季度的经调整净利润是多少？", "input": "",
                       "output": "快手2024年第二季度经调整净利润同比增长73.7%，达到46.8亿元左右。" * 4}, ensure_ascii=False)
    size, n, bad = 0, 0, 0
    with path.open("w", encoding="utf-8") as out:
        while size < 100 * 2**20:
            text = ("{not json\\n" if n % 50000 == 7 else line + "\\n")
            out.write(text)
            size, n, bad = size + len(text.encode()), n + 1, bad + (n % 50000 == 7)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pairs = issues = 0
    for item in iter_dataset(path):
        if isinstance(item, ImportedPair):
            pairs += 1
        else:
            issues += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"lines": n, "bad": bad, "bytes": path.stat().st_size, "pairs": pairs, "issues": issues,
                      "rss_before_kib": before, "rss_peak_kib": peak}))
    """
)


@pytest.mark.slow
def test_a_100_mb_jsonl_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", _STREAM_SCRIPT, str(tmp_path / "big.jsonl")],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    stats = json.loads(run.stdout)
    assert stats["bytes"] >= 100 * 2**20
    assert stats["pairs"] + stats["issues"] == stats["lines"] and stats["issues"] == stats["bad"] > 0
    assert stats["rss_peak_kib"] - stats["rss_before_kib"] < 40 * 1024, stats  # the file is 100 MiB
