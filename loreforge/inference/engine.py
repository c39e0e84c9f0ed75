"""The one generation engine of LoreForge: load a base model (a folder, hub id or GGUF file) with an optional LoRA
adapter, then generate — batched with left padding for scoring (`generate`), or token by token for a chat
(`stream`). The local provider, `loreforge chat`, `loreforge serve-model` and evaluation runs all call it.

Loading goes through `loreforge.train.adapter.load_adapted` (the adapter folder's tokenizer and chat template, the
embeddings grown as training grew them, a GGUF base converted once). An adapter is **merged** into the weights by
default (`merge=True`): an unmerged LoRA adapter generates 3-6x slower on CPU (docs/pitfalls: measured), and the
merged weights give the same greedy output (tests/test_inference.py). peft's `merge_adapter` folds the LoRA deltas
into the base layers in place and keeps the `PeftModel` wrapper (its layers then call the merged base layer only).

Generation is greedy by default (temperature 0), with a fresh generation config so that defaults shipped in a
model's `generation_config.json` (top_k, repetition penalty, sampling) never change what is measured; the stop
tokens are the model's end-of-turn / end-of-text ids. torch and transformers are imported inside the functions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError, UserError
from loreforge.providers.base import Message, split_think


@dataclass(frozen=True)
class Generated:
    """One answer. `text` has any `<think>` block removed (`reasoning` holds it, as the providers do);
    `completion_tokens` counts the stop token when one ended the answer; `finish_reason` is "stop" (a stop token
    or stop string) or "length" (max_new_tokens reached)."""

    text: str
    reasoning: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


@dataclass
class LoadedModel:
    """A model ready to generate: the transformers model (merged, or a peft model when `merge=False`), its
    tokenizer (left padding, a pad token), and what it was loaded from."""

    model: Any
    tokenizer: Any
    base: str
    adapter: Path | None
    merged: bool
    device: str
    stop_ids: frozenset[int]

    @property
    def label(self) -> str:
        """The base model, and the adapter folder when there is one."""
        return self.base + (f" + {self.adapter}" if self.adapter is not None else "")


def load_model(base: str, adapter: str | Path | None = None, *, device: str = "auto", dtype: str = "auto",
               merge: bool = True, home: Path | None = None) -> LoadedModel:
    """Load `base` (a local folder, a hub id, or a GGUF file converted once under `home`, default
    LOREFORGE_HOME) with the LoRA `adapter` folder when given, merged into the weights unless `merge=False`.

    `device`: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps. `dtype`: auto (float32 on CPU,
    where bfloat16 runs ~9x slower without avx512_bf16; the checkpoint's own dtype on an accelerator), float32,
    bfloat16 or float16. Several adapters of one base are several `load_model` calls: one merged copy each (see
    `loreforge.inference.served` for why)."""
    import torch

    from loreforge.train.adapter import load_adapted, quiet_peft
    from loreforge.train.trainer import model_source

    where = _device(device, torch)
    folder = Path(adapter).expanduser().resolve() if adapter is not None else None
    source = model_source(base, Path.cwd(), home=home)
    model, tokenizer = load_adapted(source, folder, home, dtype=_dtype(dtype, where, torch))
    if folder is not None and merge:
        with quiet_peft():
            model.merge_adapter()
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"The model {base} has no chat template",
                          expected="a tokenizer_config.json (or chat_template.jinja) with a chat_template",
                          hint="Use an instruction-tuned model, or save the tokenizer with its chat template")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(where)
    model.eval()
    return LoadedModel(model, tokenizer, base, folder, folder is not None and merge, where, _stop_ids(model, tokenizer))


def load_tuned(base: str, tuned: str | Path, **options: Any) -> LoadedModel:
    """A tuned model: `tuned` is a LoRA adapter folder (loaded on `base`) or a full fine-tuned model folder
    (loaded on its own; `base` is then only the model it was trained from). `options` as for `load_model`."""
    from loreforge.inference.tuned import is_adapter

    folder = Path(tuned).expanduser().resolve()
    if is_adapter(folder):
        return load_model(base, folder, **options)
    return load_model(str(folder), **options)


def _device(device: str, torch: Any) -> str:
    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _dtype(dtype: str, device: str, torch: Any) -> Any:
    if dtype == "auto":
        return torch.float32 if device == "cpu" else "auto"
    if dtype not in ("float32", "bfloat16", "float16"):
        raise UserError("Unknown dtype", expected="auto, float32, bfloat16 or float16", got=repr(dtype))
    return getattr(torch, dtype)


def _stop_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """The model's end-of-turn ids (generation_config.eos_token_id, an int or a list) and the tokenizer's eos."""
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids.update([configured] if isinstance(configured, int) else list(configured or ()))
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return frozenset(ids)


# ---------------------------------------------------------------- prompts and answers


def prompt_ids(model: LoadedModel, conversation: Sequence[Message]) -> list[int]:
    """The token ids of `conversation` rendered with the model's chat template, ready for the assistant's turn
    (the template adds any BOS itself, so the tokenizer adds none)."""
    text = model.tokenizer.apply_chat_template(list(conversation), tokenize=False, add_generation_prompt=True)
    return list(model.tokenizer(text, add_special_tokens=False)["input_ids"])


def _config(model: LoadedModel, max_new_tokens: int, temperature: float, top_p: float | None,
            stop: Sequence[str]) -> Any:
    from transformers import GenerationConfig

    if max_new_tokens < 1:
        raise UserError("max_new_tokens must be at least 1", got=str(max_new_tokens))
    if temperature < 0:
        raise UserError("temperature must be 0 (greedy) or more", got=str(temperature))
    # Sampling flags a model's generation_config.json sets are not used when greedy (do_sample=False); when
    # sampling, ours replace them (no top_k: OpenAI's API has none).
    sampling = {"temperature": temperature, "top_p": 1.0 if top_p is None else top_p, "top_k": 0} if temperature > 0 else {}
    return GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=temperature > 0, num_beams=1, repetition_penalty=1.0,
        eos_token_id=sorted(model.stop_ids), pad_token_id=model.tokenizer.pad_token_id,
        stop_strings=list(stop) or None, **sampling,
    )


def finish(model: LoadedModel, new_ids: list[int], prompt_tokens: int, max_new_tokens: int,
           stop: Sequence[str] = ()) -> Generated:
    """Turn the generated ids of one row into a `Generated`: cut at the first stop token (or stop string),
    drop the padding after it, decode, and split out `<think>`."""
    cut = next((i for i, t in enumerate(new_ids) if t in model.stop_ids), None)
    if cut is not None:
        body, count, reason = new_ids[:cut], cut + 1, "stop"
    else:
        body = list(new_ids)
        pad = model.tokenizer.pad_token_id
        while body and body[-1] == pad:  # a row a stop string ended early is padded to the batch's length
            body.pop()
        count = len(body)
        reason = "length" if count >= max_new_tokens else "stop"
    text = model.tokenizer.decode(body, skip_special_tokens=True)
    at = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    if at >= 0:
        text, reason = text[:at], "stop"
    answer, reasoning = split_think(text)
    return Generated(answer, reasoning, prompt_tokens, count, reason)


# ---------------------------------------------------------------- batched generation


def generate(model: LoadedModel, conversations: Sequence[Sequence[Message]], *, max_new_tokens: int,
             temperature: float = 0.0, top_p: float | None = None, batch_size: int = 16,
             stop: Sequence[str] = ()) -> list[Generated]:
    """Answer every conversation, in the order given. Prompts are sorted by length (longest first: a batch that
    does not fit in memory fails at once) and generated `batch_size` at a time with LEFT padding, so that every
    row's last prompt token sits at the same position and greedy output equals one-by-one generation. Greedy
    unless `temperature` > 0 (then sampled, with `top_p`). `stop`: strings that end an answer (not included)."""
    import torch

    if batch_size < 1:
        raise UserError("batch_size must be at least 1", got=str(batch_size))
    config = _config(model, max_new_tokens, temperature, top_p, stop)
    prompts = [prompt_ids(model, c) for c in conversations]
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    results: dict[int, Generated] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        batch = model.tokenizer.pad({"input_ids": [prompts[i] for i in rows]}, padding=True, return_tensors="pt")
        batch = {k: v.to(model.device) for k, v in batch.items()}
        with torch.inference_mode():
            out = model.model.generate(**batch, generation_config=config,
                                       tokenizer=model.tokenizer if stop else None)
        width = batch["input_ids"].shape[1]
        for row, ids in zip(rows, out[:, width:].tolist(), strict=True):
            results[row] = finish(model, ids, len(prompts[row]), max_new_tokens, stop)
    return [results[i] for i in range(len(prompts))]


# ---------------------------------------------------------------- streaming


class TextStream:
    """The pieces of one answer as they are generated (iterate it); `result` is the whole `Generated` once the
    iteration ended. `close()` (or leaving the loop early) stops the generation within one token."""

    def __init__(self, model: LoadedModel, conversation: Sequence[Message], config: Any, stop: Sequence[str]) -> None:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        self.result: Generated | None = None
        self._model, self._stop = model, list(stop)
        self._cancel = threading.Event()
        self._ids = prompt_ids(model, conversation)
        self._streamer = TextIteratorStreamer(model.tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._max_new = int(config.max_new_tokens)
        cancel = self._cancel

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                import torch

                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        self._criteria = StoppingCriteriaList([_Cancelled()])
        self._config = config
        self._out: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, name="loreforge-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import torch

        try:
            ids = torch.tensor([self._ids], device=self._model.device)
            with torch.inference_mode():
                out = self._model.model.generate(
                    input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=self._config,
                    streamer=self._streamer, stopping_criteria=self._criteria,
                    tokenizer=self._model.tokenizer if self._stop else None)
            self._out["ids"] = out[0, ids.shape[1]:].tolist()
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread, which raises it
            self._out["error"] = exc
            self._streamer.end()

    def __iter__(self) -> Iterator[str]:
        cutter = _StopCutter(self._stop)
        try:
            for piece in self._streamer:
                shown, done = cutter.feed(piece)
                if shown:
                    yield shown
                if done:
                    self._cancel.set()
                    break
            else:
                tail = cutter.rest()
                if tail:
                    yield tail
        finally:
            self._cancel.set()  # a no-op when generation ended; else it stops at the next token
            self._finish()

    def _finish(self) -> None:
        self._thread.join()
        if "error" in self._out:
            raise self._out["error"]
        self.result = finish(self._model, self._out.get("ids", []), len(self._ids), self._max_new, self._stop)

    def close(self) -> None:
        """Stop generating (the answer so far stays in `result` after iteration ends)."""
        self._cancel.set()


class _StopCutter:
    """Holds back text that may be the start of a stop string, and cuts at the first one found."""

    def __init__(self, stop: Sequence[str]) -> None:
        self._stop = [s for s in stop if s]
        self._hold = max((len(s) for s in self._stop), default=1) - 1
        self._seen = ""
        self._shown = 0

    def feed(self, piece: str) -> tuple[str, bool]:
        self._seen += piece
        at = min((i for i in (self._seen.find(s) for s in self._stop) if i >= 0), default=-1)
        if at >= 0:
            out, self._shown = self._seen[self._shown:at], at
            return out, True
        safe = max(len(self._seen) - self._hold, self._shown)
        out, self._shown = self._seen[self._shown:safe], safe
        return out, False

    def rest(self) -> str:
        out, self._shown = self._seen[self._shown:], len(self._seen)
        return out


def stream(model: LoadedModel, conversation: Sequence[Message], *, max_new_tokens: int, temperature: float = 0.0,
           top_p: float | None = None, stop: Sequence[str] = ()) -> TextStream:
    """Generate one answer piece by piece (transformers' TextIteratorStreamer, generation in a thread). The
    pieces join to the answer's text before `<think>` is split out; `TextStream.result` has the `Generated`."""
    return TextStream(model, conversation, _config(model, max_new_tokens, temperature, top_p, stop), stop)
