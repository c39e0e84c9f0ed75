"""A project ready for the model half (train, evaluate, compare, chat), built offline in seconds, for the tests of
web UI part 2 (test_model_half, test_ui_model_pages, test_ui_model_browser): the shipped example documents through
the dataset half with the extractive strategy (no LLM), every pair confirmed, the LLaMA Factory bundle, a probe set
(held-out and key-fact probes, open questions), and a tiny Qwen2 model whose tokenizer is trained on the same text.
Training configs run a few steps of full fine-tuning on CPU (LoRA barely moves a random tiny model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import examples
from loreforge.filters import DatasetFilter
from loreforge.service import Service

PROJECT = "facts"
TINY = {"hidden_size": 64, "layers": 2, "heads": 4, "kv_heads": 2, "vocab_size": 600}


def tiny_model(root: Path) -> Path:
    """A tiny Qwen2 model whose tokenizer is trained on the example documents (built once per folder)."""
    from loreforge.train.tiny import build_tiny_model

    path = root / "tiny"
    if not (path / "config.json").exists():
        build_tiny_model(path, examples(), **TINY)
    return path


def confirmed_project(svc: Service, name: str = PROJECT) -> Path:
    """The project with a confirmed dataset, a probe set `p` and a LLaMA Factory bundle; returns the bundle folder."""
    svc.create_project(name)
    svc.set_setting(name, "split.min_length", 150)
    svc.set_setting(name, "split.max_length", 400)
    svc.ingest(name, examples())
    svc.generate_questions(name)
    svc.generate_answers(name)
    svc.confirm_dataset(name, DatasetFilter())
    svc.build_probes(name, name="p", kinds="held-out,key-fact", qtypes="open", provider="extractive", size=6)
    bundle = Path(svc.get_project(name).path) / "exports" / "bundle"
    svc.export(name, bundle, format="llamafactory", val_size=0.2)
    return bundle


def train_config(bundle: Path, model: Path, out: Path, **changes: Any) -> dict[str, Any]:
    """A few steps of full fine-tuning of the tiny model on the bundle (a loss point every step)."""
    import yaml

    config = yaml.safe_load((bundle / "train_lora.yaml").read_text(encoding="utf-8"))
    config.update(model_name_or_path=str(model), output_dir=str(out), finetuning_type="full", learning_rate=1e-3,
                  num_train_epochs=1, max_steps=6, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                  cutoff_len=96, logging_steps=1, save_steps=3, eval_steps=3, bf16=False, plot_loss=False,
                  overwrite_output_dir=True)
    for key in ("lora_rank", "lora_alpha", "lora_dropout", "lora_target"):
        config.pop(key, None)
    config.update(changes)
    return config


class Trained:
    """A home with the confirmed project, its bundle, the tiny model and one finished run (full fine-tuning, six
    steps, a checkpoint every three with the eval loss)."""

    def __init__(self, root: Path) -> None:
        from loreforge.settings import AppConfig

        self.root = root
        self.home = root / "home"
        self.svc = Service(AppConfig.from_env(self.home))
        self.bundle = confirmed_project(self.svc)
        self.model = tiny_model(root)
        self.config = train_config(self.bundle, self.model, root / "run1", include_num_input_tokens_seen="non_padding")
        self.run = self.svc.train(self.config, project=PROJECT)


def trained_home(tmp_path_factory: Any) -> Trained:
    """One `Trained` per test session (and xdist worker), shared by the model-half tests."""
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("peft")
    global _TRAINED
    if _TRAINED is None:
        _TRAINED = Trained(tmp_path_factory.mktemp("model-half"))
    return _TRAINED


_TRAINED: Trained | None = None
