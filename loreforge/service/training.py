"""Training actions: a LoRA / full / freeze SFT run from a LLaMA Factory-style YAML (recorded in the store as a
train run), the runs list, the accelerator / library report (`loreforge env`) and the tiny Qwen2 model
builder for smoke tests and the offline demo (`loreforge tiny-model`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from loreforge.errors import LoreForgeError, NotFound, UserError
from loreforge.service.exporting import ExportActions
from loreforge.store.models import TrainRun, utcnow
from loreforge.views import EnvView, MergedModelView, TinyModelView, TrainRunView


def _run_view(run: TrainRun) -> TrainRunView:
    return TrainRunView(
        id=run.id, project_id=run.project_id, name=run.name, base_model=run.base_model, finetuning_type=run.finetuning_type,
        status=run.status, config=dict(run.config or {}), metrics=dict(run.metrics or {}), output_dir=run.output_dir,
        best_checkpoint=run.best_checkpoint, error=run.error, created_at=run.created_at, finished_at=run.finished_at,
    )


class TrainingActions(ExportActions):
    def environment(self) -> EnvView:
        """Python, torch, transformers, peft versions; accelerator kind (CUDA / ROCm-HIP, where Hygon DCUs show
        up / NPU / MPS / CPU), devices, memory, bf16 support and the dtype `auto` would pick."""
        from loreforge.train.env import accelerator_report, format_report

        report = accelerator_report()
        return EnvView(report=report.to_dict(), text=format_report(report))

    def tiny_model(
        self, out: str | Path, texts: list[str | Path] | None = None, overwrite: bool = False, **shape: int
    ) -> TinyModelView:
        """Build a tiny Qwen2-architecture model with a tokenizer trained on `texts` (or the bundled examples)
        and Qwen's chat special tokens. Nothing is downloaded. `shape`: hidden_size, layers, heads, kv_heads,
        vocab_size, seed."""
        from loreforge.train.tiny import build_tiny_model

        info = build_tiny_model(Path(out).expanduser().resolve(), [Path(t) for t in texts] if texts else None, overwrite=overwrite, **shape)
        return TinyModelView(path=str(info.path), vocab_size=info.vocab_size, tokenizer_size=info.tokenizer_size, parameters=info.parameters)

    def train(
        self, config: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None, project: str | int | None = None,
        cwd: str | Path | None = None,
    ) -> TrainRunView:
        """Run SFT from a LLaMA Factory-style YAML (path or mapping) plus `overrides`; the run, its config,
        status, metrics and paths are recorded in the store (`loreforge runs`)."""
        from loreforge.train import load_train_config
        from loreforge.train.trainer import run_training

        cfg = load_train_config(config, **(overrides or {}))
        workdir = Path(cwd) if cwd else Path.cwd()  # like LLaMA Factory: relative paths are against the cwd
        with self.db.session() as session:
            project_id = self._project(session, project).id if project is not None else None
            run = TrainRun(project_id=project_id, name=Path(cfg.output_dir).name, base_model=cfg.model_name_or_path,
                           finetuning_type=cfg.finetuning_type, config=cfg.model_dump(mode="json"), status="running")
            session.add(run)
            session.flush()
            run_id = run.id
        try:
            result = run_training(cfg, cwd=workdir)
        except LoreForgeError as exc:
            self._finish_run(run_id, status="failed", error=str(exc))
            raise
        except Exception as exc:  # noqa: BLE001 - a library failure becomes a user-facing error, run kept
            error = f"{type(exc).__name__}: {exc}"
            self._finish_run(run_id, status="failed", error=error)
            raise UserError(
                f"Training run {run_id} failed ({error})",
                hint=f"Check the model path and the dataset; the run is recorded: `loreforge runs show {run_id}`",
            ) from exc
        except BaseException:
            self._finish_run(run_id, status="cancelled", error="interrupted")
            raise
        metrics = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}
        metrics.update(global_step=result.global_step, train_loss=result.train_loss, eval_loss=result.eval_loss)
        return self._finish_run(run_id, status="completed", metrics=metrics, output_dir=str(result.output_dir),
                                best=str(result.best_checkpoint) if result.best_checkpoint else None)

    def _finish_run(self, run_id: int, status: str, error: str | None = None, metrics: dict[str, Any] | None = None,
                    output_dir: str | None = None, best: str | None = None) -> TrainRunView:
        with self.db.session() as session:
            run = session.get(TrainRun, run_id)
            assert run is not None
            run.status, run.error, run.finished_at = status, error, utcnow()
            run.metrics = metrics or {}
            run.output_dir, run.best_checkpoint = output_dir, best
            return _run_view(run)

    def list_runs(self, project: str | int | None = None) -> list[TrainRunView]:
        with self.db.session() as session:
            query = select(TrainRun).order_by(TrainRun.id.desc())
            if project is not None:
                query = query.where(TrainRun.project_id == self._project(session, project).id)
            return [_run_view(r) for r in session.scalars(query)]

    def get_run(self, run_id: int) -> TrainRunView:
        with self.db.session() as session:
            run = session.get(TrainRun, int(run_id))
            if run is None:
                raise NotFound(f"No train run {run_id}", hint="List runs with `loreforge runs list`")
            return _run_view(run)

    def export_model(self, base_model: str, adapter: str | int, out: str | Path, overwrite: bool = False) -> MergedModelView:
        """Merge a LoRA adapter (a folder, or a train run id) into its base model and save safetensors +
        tokenizer + chat template into `out`, ready for vLLM / transformers."""
        from loreforge.train.merge import merge_adapter

        folder = Path(self.get_run(int(adapter)).output_dir or "") if str(adapter).isdigit() else Path(adapter)
        merged = merge_adapter(base_model, folder.expanduser().resolve(), Path(out).expanduser().resolve(), overwrite=overwrite)
        return MergedModelView(path=str(merged.path), base_model=merged.base_model, adapter=str(merged.adapter), parameters=merged.parameters)

    def train_project(
        self, project: str | int, model: str, overrides: dict[str, Any] | None = None, val_size: float = 0.1,
    ) -> TrainRunView:
        """Train straight from a project's confirmed dataset: export the LLaMA Factory bundle into the project
        folder, take its `train_lora.yaml` with `model` as the base, apply `overrides`, and run it."""
        import yaml

        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        folder = Path(self.get_project(project).path)
        bundle = self.export(project, folder / "exports" / f"train-{stamp}", val_size=val_size)
        config = yaml.safe_load((Path(bundle.folder) / "train_lora.yaml").read_text(encoding="utf-8"))
        config.update(model_name_or_path=model, output_dir=str(folder / "runs" / stamp))
        config.update(overrides or {})
        return self.train(config, project=project)
