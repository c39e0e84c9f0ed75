"""Train run insight actions: what a run's output folder says while it trains and after (`inspect_run`: the loss
curve, the log, checkpoints with the best marked, tokens/s, the first tokenized example), two runs side by side
(`compare_runs`), a training config checked and written as the YAML `loreforge train` runs (`preview_train`), and
the devices' live memory and load (`device_usage`). Fed by the run records (`train_runs.py`) and the files the
trainer writes (`loreforge/train/run_files.py`); read by the Run and Environment pages, `loreforge runs inspect`,
`runs compare`, `train --dry-run`, `devices`, and the API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from loreforge.model_views import DeviceUsageView, RunCompareView, RunDetailView, TrainPreviewView
from loreforge.service.base import ServiceBase
from loreforge.store.models import utcnow
from loreforge.train.launch import RUNNING_LOG

SHOWN_KEYS_LAST = ("output_dir", "dataset_dir")  # differ between any two runs: listed after the settings that matter


def _log_path(run: Any) -> Path | None:
    """The run's console log: its recorded log file, else `running_log.txt` in its output folder."""
    if run.log_file:
        return Path(run.log_file)
    if run.output_dir and (Path(run.output_dir) / RUNNING_LOG).is_file():
        return Path(run.output_dir) / RUNNING_LOG
    return None


def _settings(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"key": k, "a": a.get(k), "b": b.get(k), "same": a.get(k) == b.get(k)} for k in sorted(set(a) | set(b))]
    return sorted(rows, key=lambda r: (r["same"], r["key"] in SHOWN_KEYS_LAST, r["key"]))


class RunInsightActions(ServiceBase):
    def inspect_run(self, run_id: int, after: int = 0, log_from: int | None = None, log_lines: int = 80,
                    example: bool = False) -> RunDetailView:
        """A train run with its output folder read: the trainer_log.jsonl records from index `after` (the loss and
        eval-loss curve, learning rate, tokens/s: the latest among them), the console log's last `log_lines` lines,
        the checkpoints (complete or why not; the best marked), the loss plots, and the first training example with
        its masked labels as the trainer printed it — tokenized now when the log does not hold it and `example` is
        set. With `log_from` (a follow-up read: the log's lines after that byte) the example and plots are left
        out."""
        from loreforge.train import run_files

        run = self.app.get_run(run_id)
        points, count = run_files.read_points(run.output_dir, after)
        log_path = _log_path(run)
        following = log_from is not None  # a follow-up read (every second on a live page): no example, no plots
        if following:
            log, offset = run_files.lines_after(log_path, int(log_from or 0))
        else:
            log, offset = run_files.tail_lines(log_path, log_lines)
        shown = None if following else run_files.example_from_log(log_path)
        if shown is None and example:
            shown = run_files.example_from_config(run.config)
        folder = Path(run.output_dir) if run.output_dir else None
        plots = sorted(p.name for p in folder.glob("training_*.png")) if folder and folder.is_dir() and not following else []
        return RunDetailView(
            run=run, points=points, point_count=count, log=log, log_offset=offset,
            checkpoints=run_files.checkpoints(run.output_dir, run_files.eval_losses(run.output_dir), run.best_checkpoint),
            tokens_per_second=run_files.latest(points, "throughput"), total_tokens=run_files.latest(points, "total_tokens", int),
            example=shown, plots=plots,
        )

    def compare_runs(self, a: int, b: int) -> RunCompareView:
        """Two train runs side by side: both loss curves and every setting, those that differ first."""
        from loreforge.train import run_files

        first, second = self.app.get_run(a), self.app.get_run(b)
        return RunCompareView(a=first, b=second, points_a=run_files.read_points(first.output_dir)[0],
                              points_b=run_files.read_points(second.output_dir)[0],
                              settings=_settings(first.config, second.config))

    def preview_train(self, config: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None) -> TrainPreviewView:
        """A training config (a YAML path or a mapping, plus `overrides`) checked as `train` checks it and written
        as the YAML it runs: `train(preview.config)` and `loreforge train preview.yaml` run the same."""
        from loreforge.train.preview import preview

        return preview(config, overrides)

    def device_usage(self) -> DeviceUsageView:
        """The accelerators' memory used and load now (nvidia-smi, rocm-smi or torch's counters), and the host's
        CPU load and memory: what a running training does to the machine."""
        from loreforge.train import devices

        source, found = devices.accelerators()
        used, total = devices.memory_mb()
        note = "" if found else "No accelerator found: nvidia-smi and rocm-smi are absent or report none"
        return DeviceUsageView(source=source, devices=found, cpu_percent=devices.cpu_percent(), cpus=os.cpu_count() or 0,
                               memory_used_mb=used, memory_total_mb=total, load_average=devices.load_average(),
                               at=utcnow(), note=note)
