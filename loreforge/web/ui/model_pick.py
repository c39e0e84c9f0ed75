"""The model picker of the Chat and Blind test pages: a base model (a folder, .gguf file or hub id), a train run (its
tuned weights on its base), or a model config of the project (an endpoint) — read from a form as what the chat and
arena actions take, `(model, adapter)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("base", "run", "config")


@dataclass
class Pick:
    """One side's choice, as the form shows it."""

    kind: str = "base"
    model: str = ""
    run: str = ""
    config: str = ""

    def target(self) -> tuple[str, str | None]:
        """(model, adapter) for `chat_reply` / `create_arena`: a run's base is the run's own."""
        if self.kind == "run":
            return "", self.run or None
        if self.kind == "config":
            return self.config, None
        return self.model, None


    @property
    def label(self) -> str:
        """A short name for the page: the base model's folder name, "run N", or the model config's name."""
        from pathlib import Path

        if self.kind == "run":
            return f"run {self.run}" if self.run else "run"
        if self.kind == "config":
            return self.config
        return Path(self.model).name or self.model


def read(form: Any, prefix: str) -> Pick:
    def value(name: str) -> str:
        raw = form.get(f"{prefix}_{name}")
        return raw.strip() if isinstance(raw, str) else ""

    kind = value("kind")
    pick = Pick(kind=kind if kind in KINDS else "base", model=value("model"), run=value("run"), config=value("config"))
    return pick


def defaults(runs: list[Any], run_id: int | None = None) -> tuple[Pick, Pick]:
    """Base on the left, tuned on the right: the chosen run (else the newest completed one) and its base."""
    done = [r for r in runs if r.status == "completed"]
    chosen = next((r for r in done if r.id == run_id), done[0] if done else None)
    if chosen is None:
        return Pick(model=runs[0].base_model if runs else ""), Pick()
    return Pick(model=chosen.base_model), Pick(kind="run", run=str(chosen.id))
