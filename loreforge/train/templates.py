"""Chat templates: a conversation rendered as (text, trainable) segments, the loss mask built in.

Fed by the data stage's conversations (`loreforge/train/data.py`); feeds `encode`, which tokenizes each
segment on its own, exactly as LLaMA Factory encodes each slot element on its own.

The named templates copy the special-token layout of LLaMA Factory's `src/llamafactory/data/template.py`
(`register_template(name=...)` for qwen, llama3, chatml, mistral, glm4, default) and its encoding rules
(`Template._encode`: turn 0 is prefix + system + user; `Llama2Template._encode`, used by mistral, puts the
system text inside the first user message; `system or default_system`; the system slot only when a system
text is set; efficient-EOS templates (glm4) append one EOS at the end instead of one per answer).
Segments are one per LLaMA Factory slot element, with `{"bos_token"}`/`{"eos_token"}` elements as the
tokenizer's own BOS/EOS text (skipped when the tokenizer has none, as LLaMA Factory does).

`TokenizerChatTemplate` uses a tokenizer's own Jinja `chat_template`: it renders growing prefixes of the
conversation and takes the text each assistant message adds as its trainable span.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

from loreforge.errors import ConfigError, UserError

BOS = "\x00bos\x00"  # slot element standing for the tokenizer's BOS token
EOS = "\x00eos\x00"  # slot element standing for the tokenizer's EOS token
CONTENT = "{{content}}"


class Message(NamedTuple):
    role: str  # "user" or "assistant"
    content: str


class Segment(NamedTuple):
    text: str
    trainable: bool


@dataclass(frozen=True)
class Conversation:
    """User/assistant turns, alternating, starting with the user and ending with the assistant."""

    messages: tuple[Message, ...]
    system: str | None = None

    def __post_init__(self) -> None:
        roles = [m.role for m in self.messages]
        expected = ["user", "assistant"] * (len(roles) // 2)
        if not roles or len(roles) % 2 or roles != expected:
            raise UserError(
                "A training conversation must alternate user and assistant turns",
                expected="user, assistant, user, assistant, ... ending with an assistant turn",
                got=", ".join(roles) or "no messages",
            )

    @classmethod
    def from_messages(cls, messages: Sequence[Mapping[str, Any]], system: str | None = None) -> Conversation:
        """From OpenAI-style dicts; a leading `system` message becomes the system text."""
        items = list(messages)
        if items and items[0].get("role") == "system":
            system = str(items[0].get("content") or "")
            items = items[1:]
        return cls(tuple(Message(str(m["role"]), str(m["content"])) for m in items), system or None)

    def as_dicts(self) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [{"role": m.role, "content": m.content} for m in self.messages]


class TokenizerLike(Protocol):
    bos_token: str | None
    eos_token: str | None


class Template(Protocol):
    name: str
    efficient_eos: bool

    def segments(self, conversation: Conversation, tokenizer: Any) -> list[Segment]: ...


def _apply(slots: tuple[str, ...], content: str, bos: str | None, eos: str | None) -> list[str]:
    out: list[str] = []
    for slot in slots:
        if slot == BOS:
            if bos:
                out.append(bos)
        elif slot == EOS:
            if eos:
                out.append(eos)
        else:
            text = slot.replace(CONTENT, content)
            if text:
                out.append(text)
    return out


@dataclass(frozen=True)
class ChatTemplate:
    """A named template: slot strings with `{{content}}`, and the BOS/EOS placeholders."""

    name: str
    user: tuple[str, ...]
    assistant: tuple[str, ...]
    system: tuple[str, ...]
    prefix: tuple[str, ...] = ()
    default_system: str = ""
    stop_words: tuple[str, ...] = ()
    efficient_eos: bool = False
    replace_eos: bool = False
    fuse_system: bool = False  # LLaMA Factory's Llama2Template (mistral): system inside the first user turn

    def render(
        self, conversation: Conversation, *, bos_token: str | None = None, eos_token: str | None = None
    ) -> list[Segment]:
        """The conversation as segments; assistant elements are trainable, everything else is prompt."""
        system = conversation.system or self.default_system
        segments: list[Segment] = []
        for i, message in enumerate(conversation.messages):
            content = message.content
            if message.role == "user":
                if i == 0:
                    segments += [Segment(t, False) for t in _apply(self.prefix, "", bos_token, eos_token)]
                    if system and self.fuse_system:
                        content = _apply(self.system, system, bos_token, eos_token)[0] + content
                    elif system:
                        segments += [Segment(t, False) for t in _apply(self.system, system, bos_token, eos_token)]
                segments += [Segment(t, False) for t in _apply(self.user, content, bos_token, eos_token)]
            else:
                segments += [Segment(t, True) for t in _apply(self.assistant, content, bos_token, eos_token)]
        if self.efficient_eos and eos_token:
            segments.append(Segment(eos_token, True))
        return segments

    def segments(self, conversation: Conversation, tokenizer: Any) -> list[Segment]:
        eos = self.stop_words[0] if self.replace_eos else getattr(tokenizer, "eos_token", None)
        return self.render(conversation, bos_token=getattr(tokenizer, "bos_token", None), eos_token=eos)

    def jinja(self) -> str:
        """This template as a Jinja `chat_template`, saved with the trained model so that
        `tokenizer.apply_chat_template` (transformers, vLLM) renders prompts exactly as training did. The user
        slot already ends with the assistant header (as in LLaMA Factory), so no generation prompt is added."""
        default = _literal(self.default_system) if self.default_system else "none"
        system_text = "".join(_jinja_slot(self.system, "system_message"))
        user = "".join(_jinja_slot(self.user, "content"))
        assistant = "".join(_jinja_slot(self.assistant, "message['content']"))
        if self.fuse_system:
            fused = _jinja_expr(self.system, "system_message")
            first_user = f"{{%- set content = {fused} + message['content'] -%}}"
            system_part = ""
        else:
            first_user = "{%- set content = message['content'] -%}"
            system_part = f"{{%- if system_message -%}}{system_text}{{%- endif -%}}"
        tail = "{%- if loop_messages and loop_messages[-1]['role'] == 'assistant' -%}{{ eos_token }}{%- endif -%}" if self.efficient_eos else ""
        return (
            "{%- if messages and messages[0]['role'] == 'system' -%}"
            "{%- set system_message = messages[0]['content'] -%}{%- set loop_messages = messages[1:] -%}"
            f"{{%- else -%}}{{%- set system_message = {default} -%}}{{%- set loop_messages = messages -%}}{{%- endif -%}}"
            "{%- for message in loop_messages -%}"
            "{%- if message['role'] == 'user' -%}"
            f"{{%- if loop.first -%}}{''.join(_jinja_slot(self.prefix, 'content'))}{system_part}"
            + (f"{{%- if system_message -%}}{first_user}{{%- else -%}}{{%- set content = message['content'] -%}}{{%- endif -%}}"
               if self.fuse_system else first_user)
            + "{%- else -%}{%- set content = message['content'] -%}{%- endif -%}"
            f"{user}"
            f"{{%- elif message['role'] == 'assistant' -%}}{assistant}"
            "{%- endif -%}{%- endfor -%}" + tail
        )

    def prepare_tokenizer(self, tokenizer: Any) -> None:
        """LLaMA Factory's `fix_special_tokens`: EOS becomes the first stop word when `replace_eos`; a missing
        EOS becomes <|endoftext|>; a missing PAD becomes EOS; other stop words are added as special tokens."""
        stop_words = list(self.stop_words)
        if self.replace_eos:
            if tokenizer.eos_token != stop_words[0]:
                tokenizer.add_special_tokens({"eos_token": stop_words[0]})
            stop_words = stop_words[1:]
        if tokenizer.eos_token_id is None:
            tokenizer.add_special_tokens({"eos_token": "<|endoftext|>"})
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if stop_words:
            tokenizer.add_special_tokens({"additional_special_tokens": stop_words}, replace_extra_special_tokens=False)


def _literal(text: str) -> str:
    """A Jinja string literal (Jinja reads Python-style escapes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _jinja_slot(slot: tuple[str, ...], content: str) -> list[str]:
    """Slot elements as Jinja output: BOS/EOS as the tokenizer's tokens (BOS skipped when it has none)."""
    out = []
    for element in slot:
        if element == BOS:
            out.append("{%- if bos_token -%}{{ bos_token }}{%- endif -%}")
        elif element == EOS:
            out.append("{{ eos_token }}")
        else:
            out.append("{{ " + _jinja_text(element, content) + " }}")
    return out


def _jinja_text(element: str, content: str) -> str:
    parts = element.split(CONTENT)
    return f" + {content} + ".join(_literal(p) for p in parts)


def _jinja_expr(slot: tuple[str, ...], content: str) -> str:
    """A slot without BOS/EOS elements as one Jinja string expression."""
    return " + ".join(_jinja_text(e, content) for e in slot if e not in (BOS, EOS)) or "''"


_IM_USER = "<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n"
_L3_USER = "<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"

TEMPLATES: dict[str, ChatTemplate] = {
    t.name: t
    for t in (
        ChatTemplate(
            "default",
            user=("Human: {{content}}", EOS, "\nAssistant:"),
            assistant=("{{content}}", EOS, "\n"),
            system=("System: {{content}}", EOS, "\n"),
        ),
        ChatTemplate(
            "chatml",
            user=(_IM_USER,),
            assistant=("{{content}}<|im_end|>\n",),
            system=("<|im_start|>system\n{{content}}<|im_end|>\n",),
            stop_words=("<|im_end|>", "<|im_start|>"),
            replace_eos=True,
        ),
        ChatTemplate(
            "qwen",
            user=(_IM_USER,),
            assistant=("{{content}}<|im_end|>\n",),
            system=("<|im_start|>system\n{{content}}<|im_end|>\n",),
            default_system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
            stop_words=("<|im_end|>",),
            replace_eos=True,
        ),
        ChatTemplate(
            "llama3",
            user=(_L3_USER,),
            assistant=("{{content}}<|eot_id|>",),
            system=("<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>",),
            prefix=(BOS,),
            stop_words=("<|eot_id|>", "<|eom_id|>"),
            replace_eos=True,
        ),
        ChatTemplate(
            "mistral",
            user=("[INST] {{content}}[/INST]",),
            assistant=(" {{content}}", EOS),
            system=("{{content}}\n\n",),
            prefix=(BOS,),
            fuse_system=True,
        ),
        ChatTemplate(
            "glm4",
            user=("<|user|>\n{{content}}<|assistant|>",),
            assistant=("\n{{content}}",),
            system=("<|system|>\n{{content}}",),
            prefix=("[gMASK]<sop>",),
            stop_words=("<|user|>", "<|observation|>"),
            efficient_eos=True,
        ),
    )
}


class TokenizerChatTemplate:
    """The tokenizer's own Jinja chat template; assistant spans found by rendering growing prefixes."""

    name = "tokenizer"
    efficient_eos = False

    def __init__(self, tokenizer: Any, default_system: str | None = None, enable_thinking: bool = True) -> None:
        if not isinstance(getattr(tokenizer, "chat_template", None), str):
            raise ConfigError("The tokenizer has no chat template", hint=f"Set `template` to one of {_names()}")
        self.tokenizer = tokenizer
        self.default_system = default_system
        self.enable_thinking = enable_thinking  # a variable the template may read (Qwen3's does)

    def _text(self, messages: list[dict[str, str]], generation: bool) -> str:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation,
                                                  enable_thinking=self.enable_thinking)
        return str(text)

    def segments(self, conversation: Conversation, tokenizer: Any = None) -> list[Segment]:
        if not conversation.system and self.default_system:
            conversation = replace(conversation, system=self.default_system)
        messages = conversation.as_dicts()
        offset = 1 if conversation.system else 0
        segments: list[Segment] = []
        done = ""
        for i in range(offset + 2, len(messages) + 1, 2):  # i: count of messages through an assistant turn
            prompt = self._text(messages[: i - 1], True)
            full = self._text(messages[:i], False)
            if not (prompt.startswith(done) and full.startswith(prompt)):
                raise ConfigError(
                    "The tokenizer's chat template re-renders earlier turns, so the answer spans cannot be found",
                    got=f"turn {(i - offset) // 2}",
                    hint=f"Set `template` to one of {_names()}",
                )
            if prompt[len(done) :]:
                segments.append(Segment(prompt[len(done) :], False))
            segments.append(Segment(full[len(prompt) :], True))
            done = full
        return segments


def _names() -> str:
    return ", ".join(sorted(TEMPLATES))


def get_template(name: str | None, tokenizer: Any = None, *, default_system: str | None = None,
                 enable_thinking: bool = True) -> Template:
    """A named template, or with `name=None` the tokenizer's own chat template. `default_system` replaces the
    template's default system text (LLaMA Factory's key of that name); `enable_thinking` reaches a tokenizer
    template that reads it (none of the named templates is a reasoning template, so it changes nothing there)."""
    if name is None:
        return TokenizerChatTemplate(tokenizer, default_system, enable_thinking)
    if name in TEMPLATES:
        template = TEMPLATES[name]
        return template if default_system is None else replace(template, default_system=default_system)
    near = difflib.get_close_matches(name, list(TEMPLATES), n=1)
    hint = f"Did you mean `{near[0]}`? " if near else ""
    raise ConfigError(
        f"Unknown chat template `{name}`",
        expected=_names(),
        hint=hint + "Or leave `template` unset to use the tokenizer's own chat template",
    )
