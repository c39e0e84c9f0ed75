"""Training actions beside the runs themselves (`train_runs.py`): training straight from a project's dataset,
merging an adapter into its base (`loreforge export-model`), the accelerator / library report (`loreforge env`)
and the tiny Qwen2 model builder for smoke tests and the offline demo (`loreforge tiny-model`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loreforge.defaults import DEFAULT_VAL_SIZE
from loreforge.service.base import ServiceBase
from loreforge.store.models import utcnow
from loreforge.train.launch import Launch
from loreforge.views import EnvView, MergedModelView, TinyModelView, TrainRunView


class TrainingActions(ServiceBase):
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
        intermediate_size, vocab_size, seed."""
        from loreforge.train.tiny import build_tiny_model

        info = build_tiny_model(Path(out).expanduser().resolve(), [Path(t) for t in texts] if texts else None, overwrite=overwrite, **shape)
        return TinyModelView(path=str(info.path), vocab_size=info.vocab_size, tokenizer_size=info.tokenizer_size, parameters=info.parameters)

    def export_model(self, base_model: str, adapter: str | int, out: str | Path, overwrite: bool = False) -> MergedModelView:
        """Merge a LoRA adapter (a folder, or a train run id) into its base model and save safetensors +
        tokenizer + chat template into `out`, ready for vLLM / transformers."""
        from loreforge.train.merge import merge_adapter

        folder = Path(self.app.get_run(int(adapter)).output_dir or "") if str(adapter).isascii() and str(adapter).isdigit() else Path(adapter)
        merged = merge_adapter(base_model, folder.expanduser().resolve(), Path(out).expanduser().resolve(), overwrite=overwrite)
        return MergedModelView(path=str(merged.path), base_model=merged.base_model, adapter=str(merged.adapter), parameters=merged.parameters)

    def train_project(
        self, project: str | int, model: str, overrides: dict[str, Any] | None = None, val_size: float = DEFAULT_VAL_SIZE,
        background: bool = False, launch: Launch | None = None,
    ) -> TrainRunView:
        """Train straight from a project's confirmed dataset: export the LLaMA Factory bundle into the project
        folder, take its `train_lora.yaml` with `model` as the base, apply `overrides`, and run it (`background`
        and `launch` as for `train`)."""
        import yaml

        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        app = self.app
        folder = Path(app.get_project(project).path)
        bundle = app.export(project, folder / "exports" / f"train-{stamp}", val_size=val_size)
        config = yaml.safe_load((Path(bundle.folder) / "train_lora.yaml").read_text(encoding="utf-8"))
        config.update(model_name_or_path=model, output_dir=str(folder / "runs" / stamp))
        config.update(overrides or {})
        return app.train(config, project=project, background=background, launch=launch)
