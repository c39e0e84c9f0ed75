"""Streaming writers read back by their real consumers: csv, json, pyarrow, datasets."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from loreforge.errors import MissingDependency
from loreforge.export import convert, export_dataset, make_options, open_writer, write_rows
from loreforge.export.formats import SCHEMA_PROBE
from loreforge.records import QAPair

NASTY = [
    "plain",
    "comma, inside",
    'quote " inside and "" doubled',
    "newline\ninside\r\nand CRLF",
    "中文，全角标点“引号”\n换行",
    "",
    " leading and trailing spaces ",
    "\\backslash\t tab",
]


def rows() -> list[dict[str, Any]]:
    return [{"a": text, "b": NASTY[-1 - i], "n": i} for i, text in enumerate(NASTY)]


def test_csv_round_trips_embedded_newlines_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    result = write_rows(iter(rows()), path, "csv")
    assert result.count == len(NASTY)
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with path.open(newline="", encoding="utf-8") as fh:
        back = list(csv.DictReader(fh))
    assert back == [{"a": r["a"], "b": r["b"], "n": str(r["n"])} for r in rows()]


def test_csv_json_encodes_nested_values(tmp_path: Path) -> None:
    options = make_options(val_size=0.0, format="messages", system_prompt='系统, "提示"', file_type="csv")
    pair = QAPair(id=1, question='问\n"题"', answer="答,案")
    write_rows(iter([convert(pair, options)]), tmp_path / "m.csv", "csv")
    with (tmp_path / "m.csv").open(newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert json.loads(row["messages"]) == convert(pair, options)["messages"]


def test_csv_rejects_a_row_with_unknown_fields(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "x.csv", "csv")
    writer.write({"a": "1"})
    with pytest.raises(ValueError, match="not in the header"):
        writer.write({"a": "1", "b": "2"})
    writer.abort()
    assert not (tmp_path / "x.csv").exists()


def test_json_array_is_streamed_and_valid(tmp_path: Path) -> None:
    def gen() -> Any:
        for i in range(2500):
            yield {"i": i, "text": NASTY[i % len(NASTY)]}

    result = write_rows(gen(), tmp_path / "a.json", "json")
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert result.count == 2500 and len(data) == 2500 and data[3]["text"] == NASTY[3]
    assert write_rows(iter([]), tmp_path / "empty.json", "json").count == 0
    assert json.loads((tmp_path / "empty.json").read_text(encoding="utf-8")) == []
    jsonl = write_rows(gen(), tmp_path / "a.jsonl", "jsonl")
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert jsonl.count == len(lines) == 2500 and [json.loads(x) for x in lines] == data


def test_partial_output_is_removed_on_error(tmp_path: Path) -> None:
    def broken() -> Any:
        yield {"a": 1}
        raise RuntimeError("store went away")

    for file_type in ("json", "jsonl", "csv", "parquet"):
        with pytest.raises(RuntimeError):
            write_rows(broken(), tmp_path / f"x.{file_type}", file_type)
        assert not (tmp_path / f"x.{file_type}").exists()


PAIRS = [
    QAPair(
        id=i,
        question=f"问题{i}：{NASTY[i % len(NASTY)]}",
        answer=f"答案{i}",
        cot="想" if i % 3 else "",
        tag="t",
        chunk_id=i,
    )
    for i in range(30)
]


@pytest.mark.parametrize("fmt", ["alpaca", "messages", "multilingual-thinking", "custom"])
def test_parquet_loads_back(tmp_path: Path, fmt: str) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    options = make_options(val_size=0.0, format=fmt, file_type="parquet", cot="field", include_history=True)
    result = export_dataset(lambda: iter(PAIRS), tmp_path / "o", options)
    table = pq.read_table(result.files[0])
    assert table.num_rows == len(PAIRS)
    assert table.to_pylist() == [convert(p, options) for p in PAIRS]


def test_parquet_row_groups_and_all_null_columns(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    from loreforge.export.writers import ParquetWriter

    options = make_options(val_size=0.0, format="multilingual-thinking")  # analysis/thinking all null
    writer = ParquetWriter(tmp_path / "x.parquet", sample=convert(SCHEMA_PROBE, options), row_group_rows=7)
    for pair in PAIRS:
        writer.write(convert(pair, options))
    writer.close()
    meta = pq.ParquetFile(tmp_path / "x.parquet").metadata
    assert meta.num_row_groups == 5 and meta.num_rows == 30
    assert str(pq.read_schema(tmp_path / "x.parquet").field("analysis").type) == "string"


def test_hf_folder_loads_with_load_from_disk(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    options = make_options(format="messages", file_type="hf", val_size=0.2, system_prompt="S")
    result = export_dataset(lambda: iter(PAIRS), tmp_path / "hf", options)
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert set(loaded) == {"train", "validation"}
    assert len(loaded["train"]) + len(loaded["validation"]) == len(PAIRS) == result.counts["total"]
    assert loaded["train"][0]["messages"][0] == {"role": "system", "content": "S"}
    single = datasets.load_from_disk(str(tmp_path / "hf" / "train"))
    assert len(single) == result.counts["train"]
    assert not [p for p in (tmp_path / "hf").iterdir() if p.name.startswith(".")]  # temp files gone


def test_messages_jsonl_loads_with_datasets_json(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    options = make_options(val_size=0.0, format="messages", file_type="jsonl", system_prompt="你是助手", cot="think")
    result = export_dataset(lambda: iter(PAIRS), tmp_path / "m", options)
    ds = datasets.load_dataset(
        "json", data_files=str(result.files[0]), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert len(ds) == len(PAIRS)
    assert [m["role"] for m in ds[1]["messages"]] == ["system", "user", "assistant"]
    assert ds[1]["messages"][2]["content"] == "<think>想</think>\n\n答案1"


def test_missing_optional_packages_name_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependency, match=r"pip install 'loreforge\[export\]'") as err:
        write_rows(iter([{"a": 1}]), tmp_path / "x.parquet", "parquet")
    assert "pyarrow" in str(err.value) and "Parquet" in str(err.value)
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(MissingDependency, match="datasets"):
        write_rows(iter([{"a": 1}]), tmp_path / "hf", "hf")


def test_importing_export_stays_light() -> None:
    import subprocess

    heavy = "('pyarrow', 'datasets', 'pandas', 'torch')"
    code = f"import sys, loreforge.export; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
