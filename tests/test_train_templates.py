"""Chat templates: exact special-token layout of LLaMA Factory's named templates, and the tokenizer's own
chat template with assistant spans found by rendering prefixes. Also home of `tiny_tokenizer`."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from loreforge.errors import ConfigError
from loreforge.train.templates import TEMPLATES, Conversation, Message, Segment, TokenizerChatTemplate, get_template

SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>",
    "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
]
CORPUS = [
    "What was the revenue in 2025? The revenue was 12.5 billion yuan, up 8 percent.",
    "Who founded the company? It was founded by Li Wei and Zhang Min in Suzhou.",
    "How many employees are there? There are 3,200 employees across four sites.",
    "You are a helpful assistant. Answer briefly and cite the report.",
] * 20


@functools.lru_cache(maxsize=1)
def _tokenizer_json() -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    return tok.to_str()


def tiny_tokenizer(**kw: Any) -> Any:
    """A byte-level BPE tokenizer (vocab ~500) trained on the fly, with Qwen's and Llama 3's special tokens."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    kw = {"eos_token": "<|endoftext|>", "bos_token": "<|begin_of_text|>"} | kw
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(_tokenizer_json()), **kw)


ONE = Conversation((Message("user", "Q1"), Message("assistant", "A1")))
TWO = Conversation((Message("user", "Q1"), Message("assistant", "A1"), Message("user", "Q2"), Message("assistant", "A2")),
                   system="S")

IM = "<|im_start|>"
L3U = "<|start_header_id|>user<|end_header_id|>\n\n"
L3A = "<|start_header_id|>assistant<|end_header_id|>\n\n"
QWEN_SYS = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


@pytest.mark.parametrize(
    ("name", "conv", "expected"),
    [
        ("qwen", ONE, [(f"{IM}system\n{QWEN_SYS}<|im_end|>\n", False),
                       (f"{IM}user\nQ1<|im_end|>\n{IM}assistant\n", False), ("A1<|im_end|>\n", True)]),
        ("chatml", ONE, [(f"{IM}user\nQ1<|im_end|>\n{IM}assistant\n", False), ("A1<|im_end|>\n", True)]),
        ("chatml", TWO, [(f"{IM}system\nS<|im_end|>\n", False),
                         (f"{IM}user\nQ1<|im_end|>\n{IM}assistant\n", False), ("A1<|im_end|>\n", True),
                         (f"{IM}user\nQ2<|im_end|>\n{IM}assistant\n", False), ("A2<|im_end|>\n", True)]),
        ("llama3", TWO, [("<B>", False), ("<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>", False),
                         (f"{L3U}Q1<|eot_id|>{L3A}", False), ("A1<|eot_id|>", True),
                         (f"{L3U}Q2<|eot_id|>{L3A}", False), ("A2<|eot_id|>", True)]),
        ("mistral", TWO, [("<B>", False), ("[INST] S\n\nQ1[/INST]", False), (" A1", True), ("<E>", True),
                          ("[INST] Q2[/INST]", False), (" A2", True), ("<E>", True)]),
        ("glm4", TWO, [("[gMASK]<sop>", False), ("<|system|>\nS", False), ("<|user|>\nQ1<|assistant|>", False),
                       ("\nA1", True), ("<|user|>\nQ2<|assistant|>", False), ("\nA2", True), ("<E>", True)]),
        ("default", TWO, [("System: S", False), ("<E>", False), ("\n", False), ("Human: Q1", False), ("<E>", False),
                          ("\nAssistant:", False), ("A1", True), ("<E>", True), ("\n", True),
                          ("Human: Q2", False), ("<E>", False), ("\nAssistant:", False),
                          ("A2", True), ("<E>", True), ("\n", True)]),
    ],
)
def test_named_layouts(name: str, conv: Conversation, expected: list[tuple[str, bool]]) -> None:
    assert TEMPLATES[name].render(conv, bos_token="<B>", eos_token="<E>") == [Segment(*e) for e in expected]


def test_bos_skipped_when_tokenizer_has_none() -> None:
    segments = TEMPLATES["llama3"].render(ONE, bos_token=None, eos_token=None)
    assert segments[0] == Segment(f"{L3U}Q1<|eot_id|>{L3A}", False)


def test_replace_eos_uses_stop_word() -> None:
    tok = tiny_tokenizer()
    assert TEMPLATES["llama3"].segments(ONE, tok)[0] == Segment("<|begin_of_text|>", False)
    TEMPLATES["qwen"].prepare_tokenizer(tok)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|im_end|>"


CHATML_JINJA = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.mark.parametrize("conv", [ONE, TWO])
def test_tokenizer_chat_template_matches_chatml(conv: Conversation) -> None:
    tok = tiny_tokenizer()
    tok.chat_template = CHATML_JINJA
    ours = get_template(None, tok).segments(conv, tok)
    named = TEMPLATES["chatml"].render(conv)
    assert "".join(s.text for s in ours) == "".join(s.text for s in named)
    assert [s.text for s in ours if s.trainable] == [s.text for s in named if s.trainable]


def test_tokenizer_chat_template_that_rerenders_history_is_refused() -> None:
    tok = tiny_tokenizer()
    tok.chat_template = "{{ messages | length }}" + CHATML_JINJA
    with pytest.raises(ConfigError, match="re-renders"):
        TokenizerChatTemplate(tok).segments(TWO)


def test_no_chat_template_and_unknown_name() -> None:
    with pytest.raises(ConfigError, match="no chat template"):
        get_template(None, tiny_tokenizer())
    with pytest.raises(ConfigError, match="`qwen`"):
        get_template("qwenn")


def test_conversation_must_alternate() -> None:
    with pytest.raises(Exception, match="alternate"):
        Conversation((Message("user", "a"), Message("user", "b")))
    conv = Conversation.from_messages([{"role": "system", "content": "S"}, {"role": "user", "content": "q"},
                                       {"role": "assistant", "content": "a"}])
    assert conv.system == "S" and len(conv.messages) == 2


TRICKY = Conversation((Message("user", "It's \"quoted\"\nand \\ back"), Message("assistant", "A1\n{{ x }}"),
                       Message("user", "Q2"), Message("assistant", "A2")), system="Sys 'one'\nline two")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("conv", [ONE, TWO, TRICKY], ids=["one", "two-system", "escapes"])
def test_named_template_as_jinja_renders_what_training_used(name: str, conv: Conversation) -> None:
    """The chat template saved with a trained model reproduces, character for character, the text the named
    template trained on (so transformers/vLLM prompt the model the same way)."""
    pytest.importorskip("transformers")
    template = TEMPLATES[name]
    tok = tiny_tokenizer()
    template.prepare_tokenizer(tok)
    tok.chat_template = template.jinja()
    messages = conv.as_dicts()
    rendered = tok.apply_chat_template(messages, tokenize=False)
    assert rendered == "".join(s.text for s in template.segments(conv, tok))
    # an inference prompt (ending with the user turn) is the training text up to the answer
    prompt = tok.apply_chat_template(messages[:-1], tokenize=False)
    assert rendered.startswith(prompt) and prompt == "".join(s.text for s in template.segments(conv, tok)[:-len(_last_answer(template, conv, tok))])


def _last_answer(template: Any, conv: Conversation, tok: Any) -> list[Segment]:
    segments = template.segments(conv, tok)
    tail = []
    for seg in reversed(segments):
        if not seg.trainable:
            break
        tail.append(seg)
    return tail
