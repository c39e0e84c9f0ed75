"""A tiny Qwen2-architecture model, built locally, for smoke tests, benchmarks and the offline demo.

Nothing is downloaded: a byte-level BPE tokenizer is trained with `tokenizers` on the given text files (or on
the example documents shipped in `loreforge/examples/`), with Qwen's special tokens (`<|endoftext|>`,
`<|im_start|>`, `<|im_end|>`) and Qwen's ChatML chat template, and a randomly initialised `Qwen2ForCausalLM`
is saved beside it as safetensors with a `generation_config.json`. The folder then loads with
`AutoTokenizer.from_pretrained` / `AutoModelForCausalLM.from_pretrained`, and LLaMA Factory's `qwen` template
renders the same tokens as `apply_chat_template`. The layout follows `tests/contract/make_tiny_qwen2.py`.

The training stage (`loreforge train`, `bench/train.py`) consumes what this writes. torch and transformers
are imported inside the functions only (the `[train]` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loreforge.errors import MissingDependency, NotFound, UserError

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
SAMPLE_SUFFIXES = (".md", ".txt", ".html")

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]
DEFAULT_SYSTEM = "You are a helpful assistant."
# Qwen2-Instruct's ChatML template: a default system turn when the conversation has none.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\n" + DEFAULT_SYSTEM + "<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# Qwen2's pre-tokenizer split: single digits, letters runs, punctuation runs, newlines, spaces.
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)


@dataclass(frozen=True)
class TinyModelInfo:
    """What `build_tiny_model` wrote: the folder, the model's vocabulary (embedding rows), its parameter count
    (tied embeddings counted once) and how many tokens the trained tokenizer has (<= vocab_size; like Qwen,
    the embedding is padded up to the requested size when the text yields fewer tokens)."""

    path: Path
    vocab_size: int
    parameters: int
    tokenizer_size: int


def build_tiny_model(
    out: Path,
    texts: list[Path] | None = None,
    *,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    vocab_size: int = 2000,
    intermediate_size: int | None = None,
    max_positions: int = 2048,
    seed: int = 0,
    overwrite: bool = False,
) -> TinyModelInfo:
    """Train a tokenizer on `texts` (default: the bundled examples) and save a random tiny Qwen2 model in `out`.

    `intermediate_size` defaults to twice `hidden_size`. Bench size: hidden_size=256, layers=4, heads=8,
    kv_heads=2 (or 4), vocab_size=8000.
    """
    _check_shape(hidden_size, layers, heads, kv_heads, vocab_size)
    out = Path(out)
    _check_out(out, overwrite)
    files = _text_files(texts)
    _require("tokenizers", "transformers", "torch")
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer(files, vocab_size, max_positions)
    tokenizer.save_pretrained(out)
    _name_tokenizer_class(out / "tokenizer_config.json")
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    parameters = _build_model(
        out,
        ids,
        vocab_size=max(vocab_size, len(tokenizer)),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 2 * hidden_size,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        max_positions=max_positions,
        seed=seed,
    )
    return TinyModelInfo(out, max(vocab_size, len(tokenizer)), parameters, len(tokenizer))


def _check_shape(hidden_size: int, layers: int, heads: int, kv_heads: int, vocab_size: int) -> None:
    if min(hidden_size, layers, heads, kv_heads) < 1 or hidden_size % heads or heads % kv_heads:
        raise UserError(
            "Invalid tiny model shape",
            expected="positive sizes, hidden_size divisible by heads, heads divisible by kv_heads",
            got=f"hidden_size={hidden_size}, layers={layers}, heads={heads}, kv_heads={kv_heads}",
        )
    if (hidden_size // heads) % 2:
        raise UserError(
            "Invalid tiny model shape", expected="an even head size (hidden_size / heads) for rotary embeddings",
            got=f"{hidden_size} / {heads} = {hidden_size // heads}",
        )
    if vocab_size < 300:
        raise UserError(
            "Vocabulary too small", expected="vocab_size >= 300 (256 byte tokens + specials + merges)",
            got=str(vocab_size),
        )


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"Cannot build the tiny model in {out}", expected="a folder", got="a file")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(
            f"The output folder {out} is not empty",
            expected="a new or empty folder",
            got=f"{sum(1 for _ in out.iterdir())} entries",
            hint="Choose another folder, or pass overwrite=True (`--overwrite`) to write over it",
        )


def _text_files(texts: list[Path] | None) -> list[Path]:
    if texts is None:
        files = sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix in SAMPLE_SUFFIXES)
        if not files:
            raise NotFound(f"No bundled sample text in {EXAMPLES_DIR}", hint="Pass text files to train the tokenizer on")
        return files
    files = [Path(p) for p in texts]
    if not files:
        raise UserError("No text to train the tokenizer on", expected="at least one text file", got="an empty list")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise NotFound("Text file not found", got=", ".join(missing), hint="Check the paths")
    return files


def _require(*modules: str) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingDependency(name, extra="train", purpose="building the tiny model") from exc


def _read_texts(files: list[Path]) -> Iterator[str]:
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        yield from (line for line in text.splitlines(keepends=True) if line.strip())


def _build_tokenizer(files: list[Path], vocab_size: int, max_positions: int) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_read_texts(files), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=IM_END, pad_token=ENDOFTEXT, unk_token=None,
        additional_special_tokens=[IM_START, IM_END], model_max_length=max_positions,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _name_tokenizer_class(config_file: Path) -> None:
    """Record Qwen's tokenizer class (as Qwen's own checkpoints do) instead of the generic backend name, so
    the folder loads as a Qwen2 tokenizer under transformers 4.x and 5.x alike."""
    import json

    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "Qwen2Tokenizer"
    config_file.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _build_model(out: Path, ids: dict[str, int], *, vocab_size: int, hidden_size: int, intermediate_size: int,
                 layers: int, heads: int, kv_heads: int, max_positions: int, seed: int) -> int:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions, tie_word_embeddings=True,
        bos_token_id=ids[ENDOFTEXT], eos_token_id=ids[IM_END], pad_token_id=ids[ENDOFTEXT],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=ids[ENDOFTEXT], eos_token_id=[ids[IM_END], ids[ENDOFTEXT]], pad_token_id=ids[ENDOFTEXT],
        do_sample=False,
    )
    model.save_pretrained(out, safe_serialization=True)
    return sum(p.numel() for p in model.parameters())
