"""What `--adapter RUN|DIR` names in `loreforge chat` and `loreforge serve-model`: a train run id (its output
folder, as `export-model --adapter` reads it) or a folder — a LoRA adapter (`adapter_config.json`) or a full
fine-tuned model (`config.json` and weights: the recipe that learns on small models is full fine-tuning).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from loreforge.errors import UserError

ADAPTER_CONFIG = "adapter_config.json"
MODEL_CONFIG = "config.json"


def is_run_id(spec: str) -> bool:
    return spec.isascii() and spec.isdigit()


def is_adapter(folder: Path) -> bool:
    return (folder / ADAPTER_CONFIG).is_file()


def tuned_folder(spec: str, get_run: Callable[[int], Any]) -> Path:
    """The folder `spec` names: a run id's output folder (`get_run(id).output_dir`) or the path itself; it must
    hold a LoRA adapter or a full model."""
    run = get_run(int(spec)) if is_run_id(spec) else None
    if run is not None and not run.output_dir:
        raise UserError(f"Train run {spec} has no output folder", got=f"status {run.status}",
                        hint="Pick a completed run (`loreforge runs list`)")
    folder = Path(run.output_dir if run is not None else spec).expanduser().resolve()
    if is_adapter(folder) or (folder / MODEL_CONFIG).is_file():
        return folder
    where = f"train run {spec}'s output {folder} (status {run.status})" if run is not None else str(folder)
    raise UserError(f"No tuned model in {where}",
                    expected=f"a LoRA adapter ({ADAPTER_CONFIG}) or a full model folder ({MODEL_CONFIG})",
                    got="a missing folder" if not folder.is_dir() else "neither file",
                    hint="Give a completed train run id (`loreforge runs list`) or the folder a run wrote")


def parse_named(spec: str) -> tuple[str, str]:
    """`NAME=RUN|DIR` (serve-model's --adapter) -> (name, RUN|DIR); the name must be a usable model name."""
    name, sep, target = spec.partition("=")
    name = name.strip()
    if not sep or not name or not target.strip():
        raise UserError("--adapter takes NAME=RUN|DIR", got=repr(spec),
                        hint="e.g. --adapter tuned=3 (a train run id) or --adapter tuned=./runs/lora")
    if any(c.isspace() for c in name) or len(name) > 200:
        raise UserError("A served model name has no spaces and at most 200 characters", got=repr(name))
    return name, target.strip()
