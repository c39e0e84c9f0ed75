"""The tiny Qwen2 model builder: the folder reloads with transformers, the chat template renders Qwen's ChatML
(and tokenizes exactly as LLaMA Factory's `qwen` template assembles it), the model runs forward and generates,
parameters add up, builds are reproducible, and bad requests fail with user-facing errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from loreforge.errors import MissingDependency, NotFound, UserError  # noqa: E402
from loreforge.train.tiny import DEFAULT_SYSTEM, TinyModelInfo, build_tiny_model  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
QUESTION = "星河精密 2025年上半年营业收入是多少？"
ANSWER = "营业收入 38.6亿元，同比增长 21.4%。"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModelInfo:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def loaded(tiny: TinyModelInfo) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny.path), AutoModelForCausalLM.from_pretrained(tiny.path)


def test_folder_layout(tiny: TinyModelInfo) -> None:
    names = {p.name for p in tiny.path.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json"} <= names
    assert tiny.vocab_size == 2000 and tiny.tokenizer_size <= tiny.vocab_size


def test_tokenizer_special_tokens(loaded: tuple[Any, Any]) -> None:
    tok, model = loaded
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1
    assert model.config.eos_token_id == tok.eos_token_id
    assert model.config.pad_token_id == tok.pad_token_id
    assert set(model.generation_config.eos_token_id) == {tok.eos_token_id, tok.pad_token_id}
    assert tok.decode(tok(QUESTION + ANSWER)["input_ids"]) == QUESTION + ANSWER


def test_chat_template_renders_chatml(loaded: tuple[Any, Any]) -> None:
    tok, _ = loaded
    messages = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": ANSWER}]
    assert tok.apply_chat_template(messages, tokenize=False) == (
        f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n"
        f"<|im_start|>user\n{QUESTION}<|im_end|>\n"
        f"<|im_start|>assistant\n{ANSWER}<|im_end|>\n"
    )
    with_system = [{"role": "system", "content": "Answer briefly."}, *messages[:1]]
    assert tok.apply_chat_template(with_system, tokenize=False, add_generation_prompt=True) == (
        f"<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    )


def test_llamafactory_qwen_template_gives_the_same_tokens(loaded: tuple[Any, Any]) -> None:
    """LLaMA Factory's `qwen` template encodes system, prompt and answer pieces separately and joins the ids."""
    tok, _ = loaded
    history = [("What is 2025H1 revenue?", "38.6 billion yuan."), (QUESTION, ANSWER)]
    pieces = [f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n"]
    messages = []
    for question, answer in history:
        pieces += [f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n", f"{answer}<|im_end|>\n"]
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    joined = [i for piece in pieces for i in tok(piece, add_special_tokens=False)["input_ids"]]
    rendered = tok(tok.apply_chat_template(messages, tokenize=False), add_special_tokens=False)["input_ids"]
    assert joined == rendered


def test_forward_and_generate(loaded: tuple[Any, Any], tiny: TinyModelInfo) -> None:
    import torch

    tok, model = loaded
    batch = tok.apply_chat_template(
        [{"role": "user", "content": QUESTION}], add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    prompt = batch["input_ids"]
    with torch.no_grad():
        out = model(**batch, labels=prompt)
    assert out.logits.shape == (1, prompt.shape[1], tiny.vocab_size)
    assert torch.isfinite(out.loss)
    generated = model.generate(**batch, max_new_tokens=3, min_new_tokens=3, do_sample=False)
    assert generated.shape == (1, prompt.shape[1] + 3)
    assert torch.equal(generated[0, : prompt.shape[1]], prompt[0])


def test_parameter_count(loaded: tuple[Any, Any], tiny: TinyModelInfo) -> None:
    _, model = loaded
    assert tiny.parameters == sum(p.numel() for p in model.parameters())
    h, inter, layers, vocab, kv = 64, 128, 2, 2000, 2 * (64 // 4)
    attention = h * h + h + 2 * (h * kv + kv) + h * h  # q (+bias), k and v (+bias), o
    per_layer = attention + 3 * h * inter + 2 * h
    assert tiny.parameters == vocab * h + layers * per_layer + h  # tied embeddings, final norm


def test_bench_size_on_given_texts(tmp_path: Path) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text("Harbor Light Robotics ships the HL-7 arm.\n港湾之光机器人发布了 HL-7 机械臂。\n" * 50, encoding="utf-8")
    info = build_tiny_model(tmp_path / "bench", [text], hidden_size=256, layers=4, heads=8, kv_heads=2, vocab_size=8000)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(info.path)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (256, 4, 8)
    assert config.num_key_value_heads == 2 and config.vocab_size == info.vocab_size == 8000
    assert config.model_type == "qwen2" and info.tokenizer_size < 8000  # a small text: embedding padded like Qwen's


def test_reproducible_and_leaves_global_rng_alone(tmp_path: Path) -> None:
    import torch

    state = torch.random.get_rng_state()
    a = build_tiny_model(tmp_path / "a", seed=3)
    b = build_tiny_model(tmp_path / "b", seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    for name in ("model.safetensors", "tokenizer.json"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes()


def test_non_empty_folder_is_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UserError, match="not empty") as err:
        build_tiny_model(out)
    assert "overwrite" in str(err.value)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    info = build_tiny_model(out, overwrite=True)
    assert (info.path / "model.safetensors").is_file() and (out / "notes.txt").is_file()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden_size": 60, "heads": 8}, "divisible"),
        ({"heads": 4, "kv_heads": 3}, "divisible"),
        ({"vocab_size": 100}, "300"),
    ],
)
def test_bad_shapes(tmp_path: Path, kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(UserError, match=match):
        build_tiny_model(tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_missing_text_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nope.txt"):
        build_tiny_model(tmp_path / "m", [tmp_path / "nope.txt"])


@pytest.mark.parametrize("package", ["transformers", "torch"])
def test_missing_dependency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(MissingDependency) as err:
        build_tiny_model(tmp_path / "m")
    assert "pip install 'loreforge[train]'" in str(err.value) and "tiny model" in str(err.value)
    assert not (tmp_path / "m").exists()


def test_import_does_not_load_torch() -> None:
    code = "import sys, loreforge.train.tiny; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
