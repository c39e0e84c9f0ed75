"""Export a stream of reviewed pairs into a folder: select (balance, split), convert, write, manifest.

Fed by the review stage through a `pairs_factory` that yields `QAPair`s afresh on each call (the service
layer opens a store query per call). Two passes: the first collects `PairKey`s for balancing and the
train/validation split, the second streams the selected pairs through `convert` into the writers, so a
300,000-item export holds only the keys and one row group in memory.

The folder gets `train.<ext>` (and `val.<ext>` when split) plus `manifest.json`; with file type "hf" it
gets a `datasets.DatasetDict` (`train/`, `validation/`, `dataset_dict.json`) instead. Nothing is created
when no pair matches; a non-empty folder is refused unless `force` (which replaces only the file names an
export writes, never other files there).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loreforge.errors import UserError
from loreforge.export.formats import SCHEMA_PROBE, convert
from loreforge.export.options import ExportOptions
from loreforge.export.split import PairKey, balance, key_of, split_pairs
from loreforge.export.writers import EXTENSIONS, RowWriter, WriteResult, open_writer, output_name
from loreforge.paths import writable_dir
from loreforge.records import QAPair

PairsFactory = Callable[[], Iterator[QAPair]]
MANIFEST = "manifest.json"
HF_SPLITS = {"train": "train", "val": "validation"}
# Every name an export may write; `force` removes these (and only these) before writing.
OUTPUT_NAMES = frozenset(
    {output_name(stem, ft) for stem in ("train", "val") for ft in EXTENSIONS}
    | {"validation", "dataset_dict.json", MANIFEST}
    | {"alpaca.json", "alpaca_val.json", "sharegpt.json", "sharegpt_val.json", "dataset_info.json"}
    | {"dialogues.json", "dialogues_val.json", "mllm.json", "mllm_val.json"}
    | {"train_lora.yaml"}
)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: files (absolute paths, data files then the manifest), row counts per split
    ("train", "val", "total"), the manifest's path, and warnings (e.g. a split that came out empty)."""

    out_dir: Path
    files: list[Path]
    counts: dict[str, int]
    manifest_path: Path
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Selection:
    """The ids chosen by the first pass."""

    train: frozenset[int]
    val: frozenset[int]
    warnings: tuple[str, ...] = ()
    dialogues: frozenset[int] = frozenset()  # the ids of dialogues (kind "dialogue") among them
    images: frozenset[int] = frozenset()  # the ids of image QA items among them


@dataclass(frozen=True)
class Output:
    """One file of the export: which split feeds it, how its records are laid out, where it goes."""

    split: str  # "train" or "val"
    options: ExportOptions
    path: Path
    accepts: Callable[[QAPair], bool] | None = None  # which pairs of its split it takes (None: all)
    convert_fn: Callable[[QAPair, ExportOptions], dict[str, Any]] | None = None  # its own layout (None: `options.format`'s)


def _describe_selection(manifest_extra: Mapping[str, Any]) -> str:
    if "filters" in manifest_extra and manifest_extra["filters"]:
        return "the filters " + json.dumps(manifest_extra["filters"], ensure_ascii=False, sort_keys=True)
    return "the selection"


def select(pairs_factory: PairsFactory, options: ExportOptions, manifest_extra: Mapping[str, Any]) -> Selection:
    """First pass: collect keys, balance per tag, split. Raises UserError when nothing matches."""
    keys: list[PairKey] = [key_of(pair) for pair in pairs_factory()]
    if not keys:
        raise UserError(
            f"nothing to export: no items match {_describe_selection(manifest_extra)}",
            hint="Confirm items first (`loreforge dataset confirm`) or widen the selection (e.g. `--all`); "
            "no files were written",
        )
    if options.balance_per_tag is not None:
        keys = balance(keys, options.balance_per_tag, options.seed)
    train, val = split_pairs(keys, options.val_size, options.split_by, options.seed)
    warnings: tuple[str, ...] = ()
    if options.val_size > 0 and not val:
        warnings = (
            f"validation split is empty: {len(keys)} item(s) in too few {options.split_by}s to split "
            f"{options.val_size:g} off without sharing a {options.split_by}",
        )
    dialogues = frozenset(k.id for k in keys if k.kind == "dialogue")
    images = frozenset(k.id for k in keys if k.images)
    return Selection(frozenset(train), frozenset(val), warnings, dialogues, images)


def prepare_out_dir(out_dir: Path, force: bool) -> Path:
    """Create (or, with `force`, clear the export names in) the folder; UserError when refused or unwritable."""
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not force:
            raise UserError(
                f"Export folder {out_dir} already exists and is not empty",
                hint="Choose a new folder with --out, or pass --force to overwrite the export files in it",
            )
        for name in OUTPUT_NAMES:
            target = out_dir / name
            if target.is_dir() and not target.is_symlink():
                if (target / "state.json").is_file():  # only a `datasets` folder an export wrote
                    shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    return writable_dir(out_dir, hint="Choose a writable folder with --out")


def _open(outputs: list[Output]) -> list[RowWriter]:
    writers: list[RowWriter] = []
    try:
        for out in outputs:
            sample = (out.convert_fn or convert)(SCHEMA_PROBE, out.options)
            writers.append(open_writer(out.path, out.options.file_type, sample=sample))
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return writers


def write_outputs(
    pairs_factory: PairsFactory, selection: Selection, outputs: list[Output]
) -> tuple[list[WriteResult], dict[str, Counter[str]]]:
    """Second pass: stream the selected pairs into every output of their split. Returns the writers'
    results (in `outputs` order) and the tag counts per split. On failure every output is removed."""
    writers = _open(outputs)
    tags: dict[str, Counter[str]] = {"train": Counter(), "val": Counter()}
    by_split = {split: [(o, w) for o, w in zip(outputs, writers, strict=True) if o.split == split] for split in tags}
    try:
        for pair in pairs_factory():
            split = "train" if pair.id in selection.train else "val" if pair.id in selection.val else None
            if split is None:
                continue
            tags[split][pair.tag] += 1
            for out, writer in by_split[split]:
                if out.accepts is None or out.accepts(pair):
                    writer.write((out.convert_fn or convert)(pair, out.options))
        return [writer.close() for writer in writers], tags
    except BaseException as exc:
        for writer in writers:
            writer.abort()
        if isinstance(exc, OSError):
            raise UserError(f"cannot write to {outputs[0].path.parent}", got=exc.strerror or str(exc)) from exc
        raise


def copy_images(pairs_factory: PairsFactory, selection: Selection, out_dir: Path) -> list[Path]:
    """Copy the images of the selected image QA items into `out_dir/images/` (named as the records name them)."""
    if not selection.images:
        return []
    folder = out_dir / "images"
    folder.mkdir(exist_ok=True)
    copied: list[Path] = []
    for pair in pairs_factory():
        if pair.id not in selection.images or pair.id not in (selection.train | selection.val):
            continue
        for source in pair.images:
            target = folder / Path(source).name
            if not target.exists():
                try:
                    shutil.copyfile(source, target)
                except OSError as exc:
                    raise UserError(f"cannot copy image {source} into the export", got=exc.strerror or str(exc),
                                    hint="Check the project's images (`loreforge images list`)") from exc
                copied.append(target)
    return copied


def write_manifest(
    out_dir: Path,
    *,
    kind: str,
    options: ExportOptions,
    results: list[tuple[Output, WriteResult]],
    tags: dict[str, Counter[str]],
    warnings: list[str],
    manifest_extra: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> tuple[Path, dict[str, int]]:
    """Write manifest.json; returns its path and the per-split counts. `manifest_extra` keys (project,
    filters, ...) go at the top level; the computed keys below take precedence over them."""
    from loreforge import __version__

    counts = {split: sum(tags[split].values()) for split in ("train", "val")}
    counts["total"] = counts["train"] + counts["val"]
    manifest: dict[str, Any] = dict(manifest_extra)
    manifest.update(
        {
            "loreforge_version": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "export": kind,
            "format": options.format,
            "file_type": options.file_type,
            "seed": options.seed,
            "options": options.model_dump(mode="json"),
            "counts": counts,
            "tags": {split: dict(sorted(tags[split].items())) for split in ("train", "val")},
            "files": [
                {
                    "name": res.path.relative_to(out_dir).as_posix(),
                    "split": out.split,
                    "format": out.options.format,
                    "rows": res.count,
                    "sha256": res.sha256,
                }
                for out, res in results
            ],
            "warnings": warnings,
            **(extra or {}),
        }
    )
    path = out_dir / MANIFEST
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path, counts


def _dataset_outputs(out_dir: Path, options: ExportOptions, selection: Selection) -> list[Output]:
    splits = ["train"] + (["val"] if selection.val else [])
    if options.file_type == "hf":
        return [Output(split, options, out_dir / HF_SPLITS[split]) for split in splits]
    return [Output(split, options, out_dir / output_name(split, options.file_type)) for split in splits]


def export_dataset(
    pairs_factory: PairsFactory,
    out_dir: Path,
    options: ExportOptions,
    *,
    manifest_extra: Mapping[str, Any] | None = None,
    force: bool = False,
) -> ExportResult:
    """Export the pairs in one format and file type into `out_dir` (train, optional val, manifest)."""
    extra = dict(manifest_extra or {})
    selection = select(pairs_factory, options, extra)
    if selection.images and options.file_type not in ("json", "jsonl"):
        raise UserError(f"image QA items export to json or jsonl (or the LLaMA Factory bundle), not {options.file_type}",
                        hint="Choose --file-type json or jsonl, or leave the image items out with --no-images")
    out_dir = prepare_out_dir(out_dir, force)
    outputs = _dataset_outputs(out_dir, options, selection)
    results, tags = write_outputs(pairs_factory, selection, outputs)
    copy_images(pairs_factory, selection, out_dir)
    files = [res.path for res in results]
    if options.file_type == "hf":
        dict_json = out_dir / "dataset_dict.json"
        dict_json.write_text(json.dumps({"splits": [HF_SPLITS[o.split] for o in outputs]}) + "\n", encoding="utf-8")
        files.append(dict_json)
    warnings = list(selection.warnings)
    manifest_path, counts = write_manifest(
        out_dir,
        kind="dataset",
        options=options,
        results=list(zip(outputs, results, strict=True)),
        tags=tags,
        warnings=warnings,
        manifest_extra=extra,
    )
    return ExportResult(out_dir, files + [manifest_path], counts, manifest_path, warnings)
