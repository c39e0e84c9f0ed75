"""Reading a train run's output folder while it trains and after: the loss curve (`trainer_log.jsonl`), the
console log (`running_log.txt`), the checkpoints (complete or not, the best one marked) and the first training
example as the trainer printed it. Fed by what `loreforge/train/trainer.py` and `callbacks.py` write; read by
the run actions (`loreforge/service/run_insight.py`) for the Run page, `loreforge runs inspect` and the API.

Files are read as they are being written: a last line cut short is left for the next read, and a follow-up read
starts where the previous one stopped (`after` records, `offset` bytes). Nothing here imports torch;
`example_from_config` (used only when the log does not hold the example) loads the tokenizer.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loreforge.model_views import CheckpointView
from loreforge.train.callbacks import TRAINER_LOG

LOG_TAIL_LINES = 80  # lines of the console log a run page starts with
LOG_READ_LIMIT = 256 * 1024  # most bytes one follow-up read takes
EXAMPLE_SCAN_BYTES = 512 * 1024  # the first example is printed near the log's start
EXAMPLE_START = "input_ids:\n"
EXAMPLE_END = "\ntrain examples: "  # the trainer's next line after the example
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # terminal codes of progress bars


def readable(lines: list[str]) -> list[str]:
    """Console lines as a page shows them: terminal codes dropped, a line a progress bar rewrote (carriage
    returns) as what it said last, blank lines left out."""
    out = []
    for line in lines:
        text = ESCAPES.sub("", line).rstrip("\r").rsplit("\r", 1)[-1].rstrip()
        if text.strip():
            out.append(text)
    return out


def _records(output_dir: str | Path | None, keep: Callable[[int, bytes], bool]) -> tuple[list[dict[str, Any]], int]:
    """The complete records of `trainer_log.jsonl` that `keep(index, line)` asks for (the others are only counted,
    never parsed), and how many complete records there are."""
    path = Path(output_dir) / TRAINER_LOG if output_dir else None
    if path is None or not path.is_file():
        return [], 0
    records: list[dict[str, Any]] = []
    count = 0
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # being written: read it next time
            if not raw.strip():
                continue
            if keep(count, raw):
                try:
                    record = json.loads(raw)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    records.append(record)
            count += 1
    return records, count


def read_points(output_dir: str | Path | None, after: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The records of `trainer_log.jsonl` from index `after` on, and how many complete records there are."""
    return _records(output_dir, lambda index, _line: index >= after)


def eval_losses(output_dir: str | Path | None) -> dict[int, float]:
    """Step -> eval loss, from the log's evaluation records only (the others are not parsed)."""
    found, _ = _records(output_dir, lambda _index, line: b'"eval_loss"' in line)
    return {int(p["current_steps"]): float(p["eval_loss"]) for p in found
            if isinstance(p.get("current_steps"), int) and isinstance(p.get("eval_loss"), (int, float))}


def tail_lines(path: str | Path | None, lines: int = LOG_TAIL_LINES) -> tuple[list[str], int]:
    """The last `lines` complete lines of a log, and the offset after the last complete line."""
    file = Path(path) if path else None
    if file is None or not file.is_file():
        return [], 0
    size = file.stat().st_size
    with file.open("rb") as f:
        start = max(0, size - 64 * 1024)
        f.seek(start)
        data = f.read()
    end = data.rfind(b"\n") + 1
    text = data[:end].decode("utf-8", "replace")
    found = text.split("\n")
    if start > 0 and found:
        found = found[1:]  # the first line read is likely cut
    return readable(found)[-lines:] if lines else [], start + end


def lines_after(path: str | Path | None, offset: int) -> tuple[list[str], int]:
    """The complete lines written to a log after byte `offset` (at most LOG_READ_LIMIT bytes a call), and the new
    offset. A log that shrank (a new attempt's log) is read from its start."""
    file = Path(path) if path else None
    if file is None or not file.is_file():
        return [], offset
    size = file.stat().st_size
    if size < offset:
        offset = 0
    if size == offset:
        return [], offset
    with file.open("rb") as f:
        f.seek(offset)
        data = f.read(LOG_READ_LIMIT)
    end = data.rfind(b"\n") + 1
    if end == 0:
        return [], offset
    return readable(data[:end].decode("utf-8", "replace").split("\n")), offset + end


def example_from_log(path: str | Path | None) -> str | None:
    """The first training example as the trainer logged it (`describe_example`), or None when the log lacks it."""
    file = Path(path) if path else None
    if file is None or not file.is_file():
        return None
    with file.open("rb") as f:
        text = f.read(EXAMPLE_SCAN_BYTES).decode("utf-8", "replace")
    start = text.find(EXAMPLE_START)
    if start < 0:
        return None
    end = text.find(EXAMPLE_END, start)
    if end < 0:
        return None
    return text[start:end].strip("\n")


def example_from_config(config: dict[str, Any]) -> str:
    """The first training example of a run's config, tokenized now as the trainer would (for runs whose log is not
    on this machine): its datasets, the tokenizer (the run's saved one when it finished, else the base model's),
    its template and cutoff. Loads a tokenizer (transformers), not the model."""
    from transformers import AutoTokenizer

    from loreforge.errors import UserError
    from loreforge.train import load_train_config
    from loreforge.train.templates import ChatTemplate, get_template
    from loreforge.train.trainer import _encode_all, describe_example, hub_options, model_source, read_datasets

    cfg = load_train_config(config)
    loaded = read_datasets(cfg, Path.cwd(), lambda _message: None)
    saved = Path(cfg.output_dir)
    source = str(saved) if (saved / "tokenizer_config.json").is_file() else model_source(
        cfg.model_name_or_path, Path.cwd(), cfg.model_revision, cfg.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(source, **hub_options(cfg))
    template = get_template(cfg.template, tokenizer, default_system=cfg.default_system, enable_thinking=cfg.enable_thinking)
    if isinstance(template, ChatTemplate):
        template.prepare_tokenizer(tokenizer)
    examples = _encode_all(loaded[0], cfg, tokenizer, template)
    if not examples:
        raise UserError("No trainable example in the run's dataset", hint="Check the dataset and `cutoff_len`")
    return describe_example(tokenizer, *examples[0])


def _size_mb(folder: Path) -> float:
    """The files directly in a checkpoint folder (weights, optimizer, state), in MB."""
    return round(sum(e.stat().st_size for e in os.scandir(folder) if e.is_file()) / 2**20, 1)


def checkpoints(output_dir: str | Path | None, losses: dict[int, float], best: str | None) -> list[CheckpointView]:
    """The run's `checkpoint-N` folders, newest last: complete or why not, their eval loss (`losses`: step -> eval
    loss), and the best one — the run's recorded best checkpoint, or (while it trains) the complete one of the lowest
    eval loss so far."""
    from loreforge.train.trainer import checkpoint_problem

    folder = Path(output_dir) if output_dir else None
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in folder.glob("checkpoint-*"):
        suffix = path.name.removeprefix("checkpoint-")
        if path.is_dir() and suffix.isascii() and suffix.isdigit():
            problem = checkpoint_problem(path)
            found.append(CheckpointView(name=path.name, path=str(path), step=int(suffix), complete=problem is None,
                                        problem=problem, eval_loss=losses.get(int(suffix)), size_mb=_size_mb(path)))
    found.sort(key=lambda c: c.step)
    best_path = Path(best).name if best else _lowest(found)
    for c in found:
        c.best = c.name == best_path
    return found


def _lowest(found: list[CheckpointView]) -> str | None:
    scored = [c for c in found if c.complete and c.eval_loss is not None]
    return min(scored, key=lambda c: (c.eval_loss, c.step)).name if scored else None


def latest(points: list[dict[str, Any]], key: str, cast: Callable[[Any], Any] = float) -> Any:
    """The last value of `key` in the records, or None."""
    for record in reversed(points):
        if record.get(key) is not None:
            return cast(record[key])
    return None
