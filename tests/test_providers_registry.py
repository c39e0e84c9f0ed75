"""Presets, building providers from configs, missing keys/URLs, the local provider's optional extra."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from loreforge.errors import ConfigError, NeedsKey
from loreforge.providers import PRESETS, CallDefaults, ProviderConfig, get_preset, make_provider
from loreforge.providers.local import LocalProvider
from loreforge.providers.ollama import OllamaProvider
from loreforge.providers.openai_compat import OpenAICompatProvider

REPO = Path(__file__).resolve().parent.parent
CLOUD = ["openai", "deepseek", "dashscope", "volcengine", "siliconflow", "zhipu", "moonshot", "minimax",
         "openrouter", "groq", "xai", "302ai"]
SERVERS = {"vllm": "http://127.0.0.1:8000/v1", "sglang": "http://127.0.0.1:30000/v1",
           "lmstudio": "http://127.0.0.1:1234/v1", "llamacpp": "http://127.0.0.1:8080/v1"}


def test_presets_cover_the_issue_list() -> None:
    assert set(CLOUD) | set(SERVERS) | {"custom", "ollama", "local", "extractive"} <= set(PRESETS)
    for name in CLOUD:
        p = get_preset(name)
        assert p.kind == "openai" and p.key_required and p.key_env and (p.base_url or "").startswith("https://")
    for name, url in SERVERS.items():
        assert get_preset(name).base_url == url and not get_preset(name).key_required
    assert get_preset("zhipu").base_url == "https://open.bigmodel.cn/api/paas/v4"
    assert "enable_thinking" in get_preset("dashscope").notes


@pytest.mark.parametrize("name", CLOUD)
def test_cloud_presets_build_openai_providers(name: str) -> None:
    p = make_provider(ProviderConfig(provider=name, model="some-model", api_key="k-123456789"))
    assert isinstance(p, OpenAICompatProvider)
    assert p.endpoint == get_preset(name).base_url and p.name == name


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(NeedsKey, match="DEEPSEEK_API_KEY"):
        make_provider(ProviderConfig(provider="deepseek", model="deepseek-chat"))


def test_custom_needs_a_base_url_and_unknown_names_are_listed() -> None:
    with pytest.raises(ConfigError, match="needs a base URL"):
        make_provider(ProviderConfig(provider="custom", model="m"))
    with pytest.raises(ConfigError, match="one of openai, deepseek"):
        make_provider(ProviderConfig(provider="deepsek", model="m"))
    with pytest.raises(ConfigError, match="needs a model name"):
        make_provider(ProviderConfig(provider="vllm"))


def test_other_kinds() -> None:
    assert isinstance(make_provider(ProviderConfig(provider="ollama", model="qwen3")), OllamaProvider)
    with pytest.raises(ConfigError, match="extractive"):  # a strategy (loreforge.generate.strategies), not a backend
        make_provider(ProviderConfig(provider="extractive"))
    local = make_provider(ProviderConfig(provider="local", model="/models/qwen", adapter="/adapters/a"))
    assert isinstance(local, LocalProvider) and local.endpoint == "local"


def test_importing_the_engine_does_not_import_torch() -> None:
    code = ("import sys, loreforge.providers, loreforge.providers.local, loreforge.generate.runner; "
            "print(any(m in sys.modules for m in ('torch', 'transformers', 'peft')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


def test_local_provider_without_torch_names_the_extra() -> None:
    # torch is hidden in a subprocess, as on a machine without the [train] extra
    code = (
        "import sys, asyncio; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
        "from loreforge.errors import MissingDependency\n"
        "from loreforge.providers import CallDefaults, ProviderConfig, make_provider\n"
        "p = make_provider(ProviderConfig(provider='local', model='/nowhere'))\n"
        "try:\n"
        "    asyncio.run(p.complete([{'role': 'user', 'content': 'hi'}], CallDefaults().options()))\n"
        "except MissingDependency as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "loreforge[train]" in out.stdout, out.stdout + out.stderr


def _tiny_chat_model(folder: Path) -> None:
    """A 2-layer Qwen2 model and a word-level tokenizer with a chat template, built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    words = ["system", "user", "assistant", "hello", "world", "revenue", "grew"]
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = ("{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> "
                          "{% endfor %}{% if add_generation_prompt %}<|im_start|> assistant {% endif %}")
    fast.save_pretrained(folder)
    config = Qwen2Config(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<|endoftext|>"])
    Qwen2ForCausalLM(config).save_pretrained(folder)


def _lora_adapter(model_dir: Path, adapter_dir: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    get_peft_model(base, lora).save_pretrained(adapter_dir)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the [train] extra (torch) is not installed")
@pytest.mark.parametrize("with_adapter", [False, True], ids=["base", "lora"])
def test_local_provider_generates_a_batch(tmp_path: Path, with_adapter: bool) -> None:
    model_dir, adapter_dir = tmp_path / "model", tmp_path / "adapter"
    _tiny_chat_model(model_dir)
    if with_adapter:
        _lora_adapter(model_dir, adapter_dir)
    config = ProviderConfig(provider="local", model=str(model_dir), adapter=str(adapter_dir) if with_adapter else None)
    p = make_provider(config)
    assert isinstance(p, LocalProvider)
    batches: list[int] = []
    generate = p._generate

    def counting(batch: list, options: object) -> list:
        batches.append(len(batch))
        return generate(batch, options)  # type: ignore[arg-type]
    p._generate = counting  # type: ignore[method-assign]
    prompts = [[{"role": "user", "content": "hello world"}], [{"role": "user", "content": "revenue grew"}]]

    async def go() -> list:
        options = CallDefaults(temperature=0, max_tokens=5).options()
        try:
            return await asyncio.gather(*(p.complete(m, options) for m in prompts))
        finally:
            await p.aclose()
    outs = asyncio.run(go())
    assert batches == [2] and len(outs) == 2
    for out in outs:
        assert out.usage.counted is False and out.usage.prompt_tokens > 0
        assert 0 <= out.usage.completion_tokens <= 5 and out.finish_reason in ("stop", "length")
        assert isinstance(out.text, str) and out.model == str(model_dir)
