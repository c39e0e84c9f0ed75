"""Export refusals and the manifest: existing folders, unwritable places, nothing to export, bad options."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loreforge import __version__
from loreforge.errors import ConfigError, UserError
from loreforge.export import export_dataset, export_llamafactory, file_sha256, make_options
from loreforge.records import QAPair

PAIRS = [
    QAPair(
        id=i, question=f"问{i}", answer=f"答{i}", tag=["财务", "研发", ""][i % 3], chunk_id=i // 2, document_id=i // 6
    )
    for i in range(24)
]


class Factory:
    """A pairs_factory that counts its passes."""

    def __init__(self, pairs: list[QAPair]) -> None:
        self.pairs = pairs
        self.calls = 0

    def __call__(self) -> Iterator[QAPair]:
        self.calls += 1
        return iter(self.pairs)


def test_non_empty_folder_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError) as err:
        export_dataset(Factory(PAIRS), out, make_options(format="alpaca"))
    assert str(out) in str(err.value) and "--force" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_force_replaces_export_files_and_keeps_others(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_dataset(Factory(PAIRS), out, make_options(format="alpaca", val_size=0.25))
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = export_dataset(Factory(PAIRS), out, make_options(format="alpaca", val_size=0.0), force=True)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "notes.txt", "train.json"]  # stale val.json gone
    assert result.counts["train"] == len(PAIRS)


def test_empty_existing_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert export_dataset(Factory(PAIRS), tmp_path / "out", make_options(format="messages")).counts["total"] == 24


def test_unwritable_place_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="cannot write to"):
        export_dataset(Factory(PAIRS), blocker / "sub", make_options(format="alpaca"))
    with pytest.raises(UserError, match="cannot write to"):
        export_dataset(Factory(PAIRS), blocker, make_options(format="alpaca"))


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root ignores directory permissions; covered by the path-under-a-file case"
)
def test_read_only_folder_is_a_user_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(UserError, match="cannot write to"):
            export_dataset(Factory(PAIRS), locked / "out", make_options(format="alpaca"))
    finally:
        locked.chmod(0o700)


def test_nothing_to_export_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UserError, match="nothing to export: no items match the filters") as err:
        export_dataset(Factory([]), out, make_options(format="alpaca"), manifest_extra={"filters": {"confirmed": True}})
    assert '"confirmed": true' in str(err.value) and "--all" in str(err.value)
    with pytest.raises(UserError, match="nothing to export"):
        export_llamafactory(Factory([]), out, make_options(format="alpaca"), name="p")
    assert not out.exists()


def test_invalid_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="format"):
        make_options(format="llama")
    with pytest.raises(ConfigError, match="val_size"):
        make_options(format="alpaca", val_size=1.0)
    with pytest.raises(ConfigError, match="unknown custom field"):
        make_options(format="custom", custom_fields={"questoin": "q"})
    with pytest.raises(ConfigError, match="must differ"):
        make_options(format="custom", custom_fields={"question": "x", "answer": "x"})
    with pytest.raises(ConfigError, match="LLaMA Factory dataset name"):
        export_llamafactory(Factory(PAIRS), Path("/nonexistent"), make_options(format="alpaca"), name=" , ")


def test_manifest_and_two_passes(tmp_path: Path) -> None:
    factory = Factory(PAIRS)
    options = make_options(
        format="alpaca", file_type="jsonl", val_size=0.25, split_by="document", balance_per_tag=6, seed=3
    )
    result = export_dataset(
        factory, tmp_path / "o", options, manifest_extra={"project": "p1", "filters": {"confirmed": True}}
    )
    assert factory.calls == 2
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert manifest["project"] == "p1" and manifest["filters"] == {"confirmed": True}
    assert manifest["loreforge_version"] == __version__ and manifest["created_at"]
    assert manifest["seed"] == 3 and manifest["options"]["balance_per_tag"] == 6
    assert manifest["counts"] == result.counts and result.counts["total"] == 18  # 3 tags x 6
    tags = manifest["tags"]
    assert {t: tags["train"].get(t, 0) + tags["val"].get(t, 0) for t in ("财务", "研发", "")} == {
        "财务": 6,
        "研发": 6,
        "": 6,
    }
    by_name = {f["name"]: f for f in manifest["files"]}
    assert set(by_name) == {"train.jsonl", "val.jsonl"}
    for name, entry in by_name.items():
        assert entry["sha256"] == file_sha256(tmp_path / "o" / name)
        assert entry["rows"] == len((tmp_path / "o" / name).read_text(encoding="utf-8").splitlines())
    train_docs = {
        json.loads(line)["instruction"]
        for line in (tmp_path / "o" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    }
    val_docs = {
        json.loads(line)["instruction"]
        for line in (tmp_path / "o" / "val.jsonl").read_text(encoding="utf-8").splitlines()
    }
    doc = {p.question: p.document_id for p in PAIRS}
    assert not {doc[q] for q in train_docs} & {doc[q] for q in val_docs}


def test_empty_validation_split_is_reported_not_written(tmp_path: Path) -> None:
    one_chunk = [QAPair(id=i, question="q", answer="a", chunk_id=1) for i in range(5)]
    result = export_dataset(Factory(one_chunk), tmp_path / "o", make_options(format="alpaca", val_size=0.2))
    assert [p.name for p in result.files] == ["train.json", "manifest.json"]
    assert result.warnings and "validation split is empty" in result.warnings[0]
    assert json.loads(result.manifest_path.read_text(encoding="utf-8"))["warnings"] == result.warnings
