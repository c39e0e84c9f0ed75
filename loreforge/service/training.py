"""Training-side actions available so far: the accelerator / library report (`loreforge env`) and the tiny
Qwen2 model builder for smoke tests and the offline demo (`loreforge tiny-model`). The training run itself
(issue 5) builds on these."""

from __future__ import annotations

from pathlib import Path
from loreforge.service.base import ServiceBase
from loreforge.views import EnvView, TinyModelView


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
        vocab_size, seed."""
        from loreforge.train.tiny import build_tiny_model

        info = build_tiny_model(Path(out).expanduser().resolve(), [Path(t) for t in texts] if texts else None, overwrite=overwrite, **shape)
        return TinyModelView(path=str(info.path), vocab_size=info.vocab_size, tokenizer_size=info.tokenizer_size, parameters=info.parameters)
