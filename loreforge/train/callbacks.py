"""Training progress as LLaMA Factory records it: `trainer_log.jsonl` and the loss plots.

Fed by the transformers `Trainer` (its `on_log` events and `state.log_history`); used by
`loreforge/train/trainer.py`. Mirrors LLaMA Factory's `LogCallback` (`src/llamafactory/train/callbacks.py`):
one JSON line per log event with `current_steps, total_steps, loss, eval_loss, lr, epoch, percentage,
elapsed_time, remaining_time` (and `total_tokens`, `throughput` in tokens/s when the config sets transformers'
`include_num_input_tokens_seen`) — keys whose value is missing are left out, as LLaMA Factory drops `None` values,
so a training line has `loss`/`lr` and an evaluation line has `eval_loss`. The end-of-training summary event
(no loss, no eval loss) is not written. A run resumed from the checkpoint of step K first drops the lines after K
(`trim_log`), so the file holds each step once. `make_auto_logging_callback` picks `logging_steps` when the config
leaves it unset. And `plot_loss` (`extras/ploting.py`): `training_loss.png` and
`training_eval_loss.png`, raw values plus an exponential moving average, drawn with matplotlib's Agg backend.
transformers and matplotlib are imported inside the functions only.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from loreforge.errors import MissingDependency
from loreforge.train.config import LOGGING_POINTS, auto_logging_steps

TRAINER_LOG = "trainer_log.jsonl"
LOG_FIELDS = (
    "current_steps", "total_steps", "loss", "eval_loss", "lr", "epoch", "percentage", "elapsed_time",
    "remaining_time",
)
TOKEN_FIELDS = ("total_tokens", "throughput")  # only with `include_num_input_tokens_seen`


def log_record(history_entry: dict[str, Any], step: int, total: int, start_step: int, elapsed: float) -> dict[str, Any]:
    """One `trainer_log.jsonl` line from a `state.log_history` entry (None values dropped)."""
    done = step - start_step
    remaining = elapsed / done * (total - step) if done > 0 else 0.0
    record = {
        "current_steps": step,
        "total_steps": total,
        "loss": history_entry.get("loss"),
        "eval_loss": history_entry.get("eval_loss"),
        "lr": history_entry.get("learning_rate"),
        "epoch": history_entry.get("epoch"),
        "percentage": round(step / total * 100, 2) if total else 100,
        "elapsed_time": str(timedelta(seconds=int(elapsed))),
        "remaining_time": str(timedelta(seconds=int(remaining))),
        # with `include_num_input_tokens_seen` (transformers counts them): LLaMA Factory's two extra fields
        "total_tokens": history_entry.get("num_input_tokens_seen"),
        "throughput": history_entry.get("train_tokens_per_second"),
    }
    return {key: value for key, value in record.items() if value is not None}


def _step_of(line: str) -> int | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a line cut short by the kill
    step = record.get("current_steps") if isinstance(record, dict) else None
    return step if isinstance(step, int) else None


def trim_log(path: Path, step: int) -> int:
    """Keep the `trainer_log.jsonl` lines up to `step`, where a resumed run continues (the stopped attempt logged
    the later ones, and the resumed run logs them again). Written to a new file and renamed over the old one, so a
    kill leaves one or the other. Returns how many lines were dropped."""
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if (s := _step_of(line)) is not None and s <= step]
    if len(kept) == len(lines):
        return 0
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    os.replace(partial, path)
    return len(lines) - len(kept)


def make_auto_logging_callback(log: Callable[[str], None]) -> Any:
    """A `TrainerCallback` that sets `logging_steps` from the run's total steps when training begins (the config
    left it unset): about `LOGGING_POINTS` points on the loss chart (`auto_logging_steps`)."""
    from transformers import TrainerCallback

    class AutoLoggingSteps(TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            state.logging_steps = auto_logging_steps(state.max_steps)
            log(f"logging_steps: {state.logging_steps} (unset, so chosen for about {LOGGING_POINTS} points over "
                f"{state.max_steps} steps; set `logging_steps` to choose)")

    return AutoLoggingSteps()


PROGRESS_EVERY_S = 2.0


def make_log_callback(
    output_dir: Path, log: Callable[[str], None], on_progress: Callable[[dict[str, Any]], None] | None = None
) -> Any:
    """A `TrainerCallback` appending to `output_dir/trainer_log.jsonl` (main process only). `on_progress` gets the
    latest log or step record at most every `PROGRESS_EVERY_S`, and always at the last step."""
    from transformers import TrainerCallback

    class LogCallback(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.start_time = time.time()
            self.start_step = 0
            self.path = Path(output_dir) / TRAINER_LOG
            self.last_progress = 0.0
            self.last_loss: float | None = None

        def _progress(self, record: dict[str, Any], state: Any) -> None:
            """Report at most every PROGRESS_EVERY_S (and always at the last step): writes are not per step."""
            due = time.time() - self.last_progress >= PROGRESS_EVERY_S or state.global_step == state.max_steps
            if on_progress is not None and due:
                self.last_progress = time.time()
                on_progress(record)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if on_progress is None or not state.is_world_process_zero:
                return
            elapsed = time.time() - self.start_time
            record = log_record({}, state.global_step, state.max_steps, self.start_step, elapsed)
            if self.last_loss is not None:
                record["loss"] = self.last_loss
            self._progress(record, state)

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.start_time = time.time()
            self.start_step = state.global_step
            if state.is_world_process_zero:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if not state.global_step and self.path.exists():
                    self.path.unlink()  # a fresh run; a resumed one appends

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if not state.is_world_process_zero or not state.log_history:
                return
            entry = state.log_history[-1]
            if entry.get("loss") is None and entry.get("eval_loss") is None:
                return
            elapsed = time.time() - self.start_time
            record = log_record(entry, state.global_step, state.max_steps, self.start_step, elapsed)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            log(json.dumps(record, ensure_ascii=False))
            self.last_loss = record.get("loss", self.last_loss)
            self._progress(record, state)

    return LogCallback()


def smooth(values: Sequence[float]) -> list[float]:
    """LLaMA Factory's EMA smoothing: the weight grows with the number of points."""
    if not values:
        return []
    weight = 1.8 * (1 / (1 + math.exp(-0.05 * len(values))) - 0.5)
    last, out = values[0], []
    for value in values:
        last = last * weight + (1 - weight) * value
        out.append(last)
    return out


def plot_loss(
    output_dir: Path, log_history: Sequence[dict[str, Any]], keys: Sequence[str] = ("loss", "eval_loss")
) -> list[Path]:
    """Draw `training_<key>.png` for each key with values in `log_history`; returns the files written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependency("matplotlib", purpose="plotting the training loss") from exc
    written = []
    for key in keys:
        points = [(e["step"], e[key]) for e in log_history if key in e and "step" in e]
        if not points:
            continue
        steps, values = [p[0] for p in points], [float(p[1]) for p in points]
        fig = plt.figure()
        plt.plot(steps, values, color="#1f77b4", alpha=0.4, label="original")
        plt.plot(steps, smooth(values), color="#1f77b4", label="smoothed")
        plt.title(f"training {key} of {output_dir}")
        plt.xlabel("step")
        plt.ylabel(key)
        plt.legend()
        path = Path(output_dir) / f"training_{key.replace('/', '_')}.png"
        plt.savefig(path, format="png", dpi=100)
        plt.close(fig)
        written.append(path)
    return written
