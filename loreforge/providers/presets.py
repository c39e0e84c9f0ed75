"""Provider presets: name → backend kind, default base URL, API-key environment variable, notes.

`loreforge models add --provider NAME` starts from these. Every OpenAI-compatible preset uses the same
provider class (`OpenAICompatProvider`); only the URL and the key's variable differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from loreforge.errors import ConfigError

Kind = Literal["openai", "ollama", "local", "extractive"]


@dataclass(frozen=True)
class Preset:
    name: str
    kind: Kind
    label: str
    base_url: str | None
    key_env: str | None
    key_required: bool
    notes: str = ""


def _cloud(name: str, label: str, url: str, env: str, notes: str = "") -> Preset:
    return Preset(name, "openai", label, url, env, True, notes)


def _server(name: str, label: str, url: str | None, env: str | None, notes: str = "") -> Preset:
    return Preset(name, "openai", label, url, env, False, notes)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _cloud("openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        _cloud("deepseek", "DeepSeek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY",
               "deepseek-reasoner returns its chain of thought in reasoning_content."),
        _cloud("dashscope", "Alibaba Cloud Bailian / DashScope (compatible mode)",
               "https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY",
               "Qwen3 thinking is switched with extra body {\"enable_thinking\": true|false} (passed through). "
               "International accounts: https://dashscope-intl.aliyuncs.com/compatible-mode/v1."),
        _cloud("volcengine", "Volcengine Ark (Doubao)", "https://ark.cn-beijing.volces.com/api/v3", "ARK_API_KEY",
               "The model is an endpoint ID (ep-...) or a model name enabled in the Ark console."),
        _cloud("siliconflow", "SiliconFlow", "https://api.siliconflow.cn/v1", "SILICONFLOW_API_KEY"),
        _cloud("zhipu", "Zhipu AI (BigModel)", "https://open.bigmodel.cn/api/paas/v4", "ZHIPUAI_API_KEY"),
        _cloud("moonshot", "Moonshot AI (Kimi)", "https://api.moonshot.cn/v1", "MOONSHOT_API_KEY"),
        _cloud("minimax", "MiniMax", "https://api.minimaxi.com/v1", "MINIMAX_API_KEY",
               "International accounts: https://api.minimax.io/v1."),
        _cloud("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        _cloud("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        _cloud("xai", "xAI (Grok)", "https://api.x.ai/v1", "XAI_API_KEY"),
        _cloud("302ai", "302.AI", "https://api.302.ai/v1", "AI302_API_KEY"),
        _server("vllm", "vLLM server", "http://127.0.0.1:8000/v1", "VLLM_API_KEY",
                "A key only if started with --api-key."),
        _server("sglang", "SGLang server", "http://127.0.0.1:30000/v1", "SGLANG_API_KEY"),
        _server("lmstudio", "LM Studio", "http://127.0.0.1:1234/v1", None),
        _server("llamacpp", "llama.cpp server", "http://127.0.0.1:8080/v1", "LLAMACPP_API_KEY"),
        _server("custom", "Any OpenAI-compatible endpoint", None, None, "--base-url is required; a key is optional."),
        Preset("ollama", "ollama", "Ollama (native API)", "http://127.0.0.1:11434", None, False,
               "Uses /api/chat and /api/tags, not the /v1 compatibility layer."),
        Preset("local", "local", "Local Hugging Face model (the [train] extra)", None, None, False,
               "The model is a local folder; an optional LoRA adapter folder is loaded with peft."),
        Preset("extractive", "extractive", "Extractive — no LLM, lower quality", None, None, False,
               "Builds questions and answers from the chunk's own sentences; runs offline."),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called `name`, or a ConfigError listing the known names."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ConfigError(
            f"Unknown provider '{name}'",
            expected="one of " + ", ".join(PRESETS),
            got=repr(name),
            hint="Use `custom` with a base URL for any other OpenAI-compatible endpoint",
        )
    return preset
