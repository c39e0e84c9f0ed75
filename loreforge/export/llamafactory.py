"""The LLaMA Factory bundle: a folder that `llamafactory-cli train train_lora.yaml` reads as it is.

Fed by the same two-pass export as `export_dataset`. Writes, in one streaming pass:

- `alpaca.json` (alpaca layout) and `sharegpt.json` (OpenAI-style `messages`, LLaMA Factory "sharegpt"
  formatting with role/content tags), plus `alpaca_val.json` / `sharegpt_val.json` when split — the QA pairs;
- `dialogues.json` (and `dialogues_val.json`), ShareGPT messages, when the selection holds multi-turn dialogues:
  the `dataset` of `train_lora.yaml` names them beside the alpaca entry (`<name>_alpaca,<name>_dialogues`);
- `mllm.json` (and `mllm_val.json`), LLaMA Factory's multimodal ShareGPT entry `<name>_mllm`, when the selection holds
  image QA items, with their images copied into `images/` (paths relative to the bundle, LLaMA Factory's default
  `media_dir`); a vision model trains on it (`train_lora.yaml` stays on the text entries);
- `dataset_info.json` with one entry per file, named `<name>_alpaca`, `<name>_sharegpt`,
  `<name>_alpaca_val`, `<name>_sharegpt_val`;
- `train_lora.yaml`: the reference LoRA SFT recipe (`TrainRecipe`) on the alpaca entry, the validation
  entry as `eval_dataset` when split, `dataset_dir` the bundle's absolute path (LLaMA Factory resolves it
  against the working directory), `model_name_or_path` a placeholder to replace, `logging_steps` chosen for
  about 20 points on the loss chart of this many training rows (`bundle_logging_steps`);
- `manifest.json`, whose `project` names the project the bundle came from: a run trained from the bundle's YAML
  is listed under it (`bundle_project`).

Entry keys mirror LLaMA Factory 0.9.5 (`src/llamafactory/data/parser.py` DatasetAttr.join reads
`file_name`, `formatting` in {alpaca, sharegpt, openai}, `columns` prompt/query/response/history/messages/
system/..., `tags` role_tag/content_tag/user_tag/assistant_tag/observation_tag/function_tag/system_tag;
`data/README.md` "OpenAI Format" gives the messages entry). The alpaca converter indexes
`example[column]` for every mapped column, so only columns present in the file are mapped. The export
options' `format` and `file_type` are ignored here (the bundle is always alpaca + sharegpt JSON).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError
from loreforge.export.exporter import (
    MANIFEST,
    copy_images,
    ExportResult,
    Output,
    PairsFactory,
    Selection,
    prepare_out_dir,
    select,
    write_manifest,
    write_outputs,
)
from loreforge.export.formats import to_mllm
from loreforge.export.options import ExportOptions, TrainRecipe
from loreforge.records import QAPair

DATASET_INFO = "dataset_info.json"
TRAIN_YAML = "train_lora.yaml"
SHAREGPT_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "system_tag": "system",
}
_UNSAFE = re.compile(r"[\s,]+")


def entry_prefix(name: str) -> str:
    """A dataset_info entry prefix from a project name: LLaMA Factory splits `dataset:` on commas."""
    prefix = _UNSAFE.sub("_", name).strip("_")
    if not prefix:
        raise ConfigError("The LLaMA Factory dataset name is empty", got=repr(name), hint="Pass a project name")
    return prefix


def alpaca_entry(file_name: str, options: ExportOptions) -> dict[str, Any]:
    columns = {"prompt": "instruction", "query": "input", "response": "output"}
    if options.system_prompt:
        columns["system"] = "system"
    if options.include_history:
        columns["history"] = "history"
    return {"file_name": file_name, "formatting": "alpaca", "columns": columns}


def sharegpt_entry(file_name: str) -> dict[str, Any]:
    # The system prompt travels as the first message (role "system"), which system_tag picks up.
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": SHAREGPT_TAGS,
    }


def mllm_entry(file_name: str) -> dict[str, Any]:
    """LLaMA Factory's multimodal ShareGPT entry: `<image>` in the user turn, the image paths (relative to the bundle,
    which LLaMA Factory's `media_dir` defaults to) in `images`."""
    return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "messages", "images": "images"}, "tags": SHAREGPT_TAGS}


def dataset_info(prefix: str, options: ExportOptions, with_val: bool, dialogues: tuple[bool, bool] = (False, False),
                 images: tuple[bool, bool] = (False, False)) -> dict[str, Any]:
    """The dataset_info.json entries of a bundle; `dialogues` and `images` say whether the train and val splits hold
    dialogues or image QA items (each kind then gets an entry of its own: `<prefix>_dialogues`, `<prefix>_mllm`, and
    their `_val` entries)."""
    info = {
        f"{prefix}_alpaca": alpaca_entry("alpaca.json", options),
        f"{prefix}_sharegpt": sharegpt_entry("sharegpt.json"),
    }
    if with_val:
        info[f"{prefix}_alpaca_val"] = alpaca_entry("alpaca_val.json", options)
        info[f"{prefix}_sharegpt_val"] = sharegpt_entry("sharegpt_val.json")
    if dialogues[0]:
        info[f"{prefix}_dialogues"] = sharegpt_entry("dialogues.json")
    if dialogues[1]:
        info[f"{prefix}_dialogues_val"] = sharegpt_entry("dialogues_val.json")
    if images[0]:
        info[f"{prefix}_mllm"] = mllm_entry("mllm.json")
    if images[1]:
        info[f"{prefix}_mllm_val"] = mllm_entry("mllm_val.json")
    return info


def yaml_scalar(value: Any) -> str:
    """A YAML scalar that PyYAML reads back as the same value: strings always double-quoted, floats always
    with a dot (PyYAML reads `1e-4` as a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            return repr(value)
        mantissa, exponent = f"{value:.15e}".split("e")  # 1e-4 -> "1.0e-4", as in LLaMA Factory's examples
        mantissa = mantissa.rstrip("0")
        return f"{mantissa}{'0' if mantissa.endswith('.') else ''}e{int(exponent):+d}"
    return json.dumps(str(value), ensure_ascii=False)


def _fields(recipe: TrainRecipe, *names: str) -> dict[str, Any]:
    return {name: getattr(recipe, name) for name in names}


def bundle_logging_steps(recipe: TrainRecipe, train_rows: int | None) -> int:
    """`logging_steps` for the recipe on `train_rows` rows on one device: about `LOGGING_POINTS` points on the loss
    chart (every step on a small dataset), at most every `recipe.logging_steps`; that cap when the size is unknown.
    (Our trainer chooses it the same way for a config without `logging_steps`; LLaMA Factory would take 500.)"""
    from loreforge.train.config import auto_logging_steps

    if train_rows is None:
        return recipe.logging_steps
    batches = math.ceil(train_rows / recipe.per_device_train_batch_size)
    steps = math.ceil(math.ceil(batches / recipe.gradient_accumulation_steps) * recipe.num_train_epochs)
    return auto_logging_steps(steps, cap=recipe.logging_steps)


def bundle_project(dataset_dir: Path) -> str | None:
    """The project a LLaMA Factory bundle was exported from (its manifest's `project`), or None when
    `dataset_dir` is not one of our bundles."""
    try:
        manifest = json.loads((Path(dataset_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("export") != "llamafactory":
        return None
    project = manifest.get("project")
    return project if isinstance(project, str) and project else None


def train_config(
    prefix: str, out_dir: Path, recipe: TrainRecipe, with_val: bool, train_rows: int | None = None,
    datasets: tuple[str, str] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """The sections and keys of train_lora.yaml, in order. `datasets`: the `dataset` and `eval_dataset` values when
    they are not the alpaca entries alone (a bundle holding dialogues trains on them too)."""
    r = recipe
    train_set, eval_set = datasets or (f"{prefix}_alpaca", f"{prefix}_alpaca_val")
    method = {"stage": r.stage, "do_train": True}
    method |= _fields(r, "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target")
    dataset = {"dataset": train_set, "dataset_dir": str(out_dir), "template": r.template}
    output = {"output_dir": f"{r.output_root}/{prefix}/lora/sft", "logging_steps": bundle_logging_steps(r, train_rows)}
    output |= {"save_steps": r.save_steps, "plot_loss": True, "overwrite_output_dir": True, "report_to": r.report_to}
    train = _fields(r, "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate")
    train |= _fields(r, "num_train_epochs", "lr_scheduler_type", "bf16")
    sections: list[tuple[str, dict[str, Any]]] = [
        ("model", {"model_name_or_path": r.model_name_or_path}),
        ("method", method),
        ("dataset", dataset | {"cutoff_len": r.cutoff_len}),
        ("output", output),
        ("train", train),
    ]
    if with_val:
        # eval_strategy quoted: LLaMA Factory's YAML reader turns a bare `no` into False.
        evaluation = {
            "eval_dataset": eval_set,
            "per_device_eval_batch_size": r.per_device_eval_batch_size,
        }
        evaluation |= {"eval_strategy": "steps", "eval_steps": r.eval_steps}
        if r.load_best_model_at_end:  # keep the checkpoint with the lowest validation loss
            evaluation |= {"save_strategy": "steps", "load_best_model_at_end": True}
            evaluation |= {"metric_for_best_model": "eval_loss", "greater_is_better": False}
        sections.append(("eval", evaluation))
    return sections


def render_train_yaml(prefix: str, out_dir: Path, recipe: TrainRecipe, with_val: bool, train_rows: int | None = None,
                      datasets: tuple[str, str] | None = None) -> str:
    lines = [
        "# LoRA SFT for LLaMA Factory: llamafactory-cli train train_lora.yaml",
        f"# Replace {recipe.model_name_or_path} with a local model folder or a hub id before training.",
    ]
    for title, values in train_config(prefix, out_dir, recipe, with_val, train_rows, datasets):
        lines.append(f"\n### {title}")
        lines += [f"{key}: {yaml_scalar(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _qa(pair: QAPair) -> bool:
    return pair.kind != "dialogue" and not pair.images


def _image(pair: QAPair) -> bool:
    return bool(pair.images)


def _dialogue(pair: QAPair) -> bool:
    return pair.kind == "dialogue"


def _bundle_outputs(out_dir: Path, options: ExportOptions, selection: Selection) -> list[Output]:
    """alpaca.json and sharegpt.json take the QA pairs; dialogues.json (ShareGPT messages) the dialogues, when any."""
    alpaca = options.model_copy(update={"format": "alpaca", "file_type": "json"})
    sharegpt = options.model_copy(update={"format": "sharegpt-messages", "file_type": "json"})
    outputs = [Output("train", alpaca, out_dir / "alpaca.json", _qa), Output("train", sharegpt, out_dir / "sharegpt.json", _qa)]
    if selection.dialogues & selection.train:
        outputs.append(Output("train", sharegpt, out_dir / "dialogues.json", _dialogue))
    if selection.images & selection.train:
        outputs.append(Output("train", sharegpt, out_dir / "mllm.json", _image, to_mllm))
    if selection.val:
        outputs += [
            Output("val", alpaca, out_dir / "alpaca_val.json", _qa),
            Output("val", sharegpt, out_dir / "sharegpt_val.json", _qa),
        ]
        if selection.dialogues & selection.val:
            outputs.append(Output("val", sharegpt, out_dir / "dialogues_val.json", _dialogue))
        if selection.images & selection.val:
            outputs.append(Output("val", sharegpt, out_dir / "mllm_val.json", _image, to_mllm))
    return outputs


def _entries(prefix: str, outputs: list[Output], results: list[Any], split: str) -> str:
    """The `dataset` (or `eval_dataset`) value: the split's alpaca and dialogues entries that hold rows."""
    rows = {o.path.name: r.count for o, r in zip(outputs, results, strict=True) if o.split == split}
    suffix = "" if split == "train" else "_val"
    names = [f"{prefix}_{kind}{suffix}" for kind in ("alpaca", "dialogues") if rows.get(f"{kind}{suffix}.json")]
    return ",".join(names) or f"{prefix}_alpaca{suffix}"


def export_llamafactory(
    pairs_factory: PairsFactory,
    out_dir: Path,
    options: ExportOptions,
    *,
    name: str,
    model_path_placeholder: str | None = None,
    recipe: TrainRecipe | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
    force: bool = False,
) -> ExportResult:
    """Write the LLaMA Factory bundle for the pairs into `out_dir` (see the module docstring)."""
    recipe = recipe or TrainRecipe()
    if model_path_placeholder is not None:
        recipe = recipe.model_copy(update={"model_name_or_path": model_path_placeholder})
    prefix = entry_prefix(name)
    extra = dict(manifest_extra or {})
    selection = select(pairs_factory, options, extra)
    out_dir = prepare_out_dir(out_dir, force)
    outputs = _bundle_outputs(out_dir, options, selection)
    results, tags = write_outputs(pairs_factory, selection, outputs)
    with_val = bool(selection.val)
    names = {o.path.name for o in outputs}
    info = dataset_info(prefix, options, with_val, ("dialogues.json" in names, "dialogues_val.json" in names),
                        ("mllm.json" in names, "mllm_val.json" in names))
    copy_images(pairs_factory, selection, out_dir)
    info_path = out_dir / DATASET_INFO
    info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    yaml_path = out_dir / TRAIN_YAML
    sets = (_entries(prefix, outputs, results, "train"), _entries(prefix, outputs, results, "val"))
    train_rows = sum(r.count for o, r in zip(outputs, results, strict=True)
                     if o.split == "train" and o.path.name in ("alpaca.json", "dialogues.json"))
    yaml_path.write_text(render_train_yaml(prefix, out_dir, recipe, with_val, train_rows, sets), encoding="utf-8")
    warnings = list(selection.warnings)
    manifest_path, counts = write_manifest(
        out_dir,
        kind="llamafactory",
        options=options,
        results=list(zip(outputs, results, strict=True)),
        tags=tags,
        warnings=warnings,
        manifest_extra=extra,
        extra={
            "format": "llamafactory",
            "file_type": "json",
            "llamafactory": {"entries": list(info), "dataset_dir": str(out_dir), "train_yaml": TRAIN_YAML},
        },
    )
    files = [res.path for res in results] + [info_path, yaml_path, manifest_path]
    return ExportResult(out_dir, files, counts, manifest_path, warnings)
