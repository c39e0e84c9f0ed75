"""Data stage: label masks token by token, LLaMA Factory's truncation rule, packing, dataset_info loading."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from test_train_templates import tiny_tokenizer

from loreforge.errors import ConfigError
from loreforge.export.llamafactory import dataset_info
from loreforge.export.options import make_options
from loreforge.train.data import IGNORE_INDEX, encode, encode_pairs, infer_seqlen, load_dataset, pack
from loreforge.train.templates import TEMPLATES, ChatTemplate, Conversation, Message

TOK = tiny_tokenizer()
IM = "<|im_start|>"
QWEN_SYS = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
TWO = Conversation((Message("user", "What was the revenue?"), Message("assistant", "12.5 billion yuan."),
                    Message("user", "Who founded it?"), Message("assistant", "Li Wei and Zhang Min.")))


def _expected(pieces: list[tuple[str, str]]) -> tuple[list[int], list[int]]:
    """Ids and labels from literal pieces: 'p' prompt (masked), 'a' answer (trained), 'h' history answer."""
    ids: list[int] = []
    labels: list[int] = []
    for text, kind in pieces:
        piece = TOK.encode(text, add_special_tokens=False)
        ids += piece
        labels += piece if kind == "a" else [IGNORE_INDEX] * len(piece)
    return ids, labels


QWEN_PIECES = [
    (f"{IM}system\n{QWEN_SYS}<|im_end|>\n", "p"),
    (f"{IM}user\nWhat was the revenue?<|im_end|>\n{IM}assistant\n", "p"),
    ("12.5 billion yuan.<|im_end|>\n", "a"),
    (f"{IM}user\nWho founded it?<|im_end|>\n{IM}assistant\n", "p"),
    ("Li Wei and Zhang Min.<|im_end|>\n", "a"),
]


def test_multi_turn_masks_token_by_token() -> None:
    assert encode(TWO, TOK, TEMPLATES["qwen"], 1024) == _expected(QWEN_PIECES)


def test_single_turn_masks() -> None:
    one = Conversation(TWO.messages[:2])
    assert encode(one, TOK, TEMPLATES["qwen"], 1024) == _expected(QWEN_PIECES[:3])


def test_mask_history_trains_last_turn_only() -> None:
    pieces = [(t, "h" if i == 2 else k) for i, (t, k) in enumerate(QWEN_PIECES)]
    assert encode(TWO, TOK, TEMPLATES["qwen"], 1024, mask_history=True) == _expected(pieces)


def test_train_on_prompt_trains_everything() -> None:
    ids, labels = encode(TWO, TOK, TEMPLATES["qwen"], 1024, train_on_prompt=True)
    assert labels == ids == _expected(QWEN_PIECES)[0]


def test_llama3_masks_and_bos() -> None:
    ids, labels = encode(Conversation(TWO.messages[:2]), TOK, TEMPLATES["llama3"], 1024)
    assert ids[0] == TOK.convert_tokens_to_ids("<|begin_of_text|>") and labels[0] == IGNORE_INDEX
    trained = [i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE_INDEX]
    assert TOK.decode(trained) == "12.5 billion yuan.<|eot_id|>"


def test_efficient_eos_labels_like_llamafactory() -> None:
    ids, labels = encode(TWO, TOK, TEMPLATES["glm4"], 1024)
    eos = TOK.eos_token_id
    assert ids[-1] == eos and labels[-1] == eos
    # the second turn's first prompt token is labelled EOS (the end of the first answer), the rest masked
    start = len(encode(Conversation(TWO.messages[:2]), TOK, TEMPLATES["glm4"], 1024)[0]) - 1
    assert labels[start] == eos and ids[start] != eos


def documented_rule(prompt: int, answer: int, budget: int) -> tuple[int, int]:
    """The rule in words: answer whole if it fits in half the budget; else the prompt whole if it fits in
    half; else both cut in proportion to their lengths (answer share rounded down)."""
    if 2 * answer < budget:
        kept_answer = answer
    elif 2 * prompt < budget:
        kept_answer = min(answer, budget - prompt)
    else:
        kept_answer = min(answer, budget * answer // (prompt + answer))
    return min(prompt, budget - kept_answer), kept_answer


def test_truncation_rule_on_many_triples() -> None:
    for p, a, c in itertools.product(range(0, 130, 7), range(1, 130, 9), (1, 8, 33, 64, 96, 128)):
        assert infer_seqlen(p, a, c) == documented_rule(p, a, c), (p, a, c)
        s, t = infer_seqlen(p, a, c)
        assert s + t <= c and s <= p and t <= a


BARE = ChatTemplate("bare", user=("{{content}}",), assistant=("{{content}}",), system=("{{content}}",))


def test_cutoff_96_keeps_ten_times_the_answer_of_right_truncation() -> None:
    prompt, answer = " yuan" * 92, " the" * 40
    conv = Conversation((Message("user", prompt), Message("assistant", answer)))
    [(source, target)] = encode_pairs(conv, TOK, BARE)
    assert (len(source), len(target)) == (92, 40)
    ids, labels = encode(conv, TOK, BARE, 96)
    kept = sum(lab != IGNORE_INDEX for lab in labels)
    naive = sum(lab != IGNORE_INDEX for lab in ([IGNORE_INDEX] * 92 + target)[:96])
    assert (len(ids), kept, naive) == (96, 40, 4)  # LLaMA Factory keeps 40 answer tokens, naive keeps 4


def test_encode_respects_cutoff_per_turn() -> None:
    for cutoff in (5, 17, 40, 64):
        for mask_history in (False, True):
            ids, labels = encode(TWO, TOK, TEMPLATES["qwen"], cutoff, mask_history=mask_history)
            assert len(ids) == len(labels) <= cutoff


def test_packing_keeps_every_token_and_label() -> None:
    convs = [Conversation((Message("user", "Q" * n), Message("assistant", "A" * (n % 5 + 1)))) for n in range(1, 12)]
    examples = [encode(c, TOK, TEMPLATES["chatml"], 64) for c in convs]
    rows, dropped = pack(examples, 64)
    assert dropped == 0 and len(rows) < len(examples)
    seen = []
    for row in rows:
        assert len(row.input_ids) == len(row.labels) == len(row.position_ids) == row.boundaries[-1] <= 64
        for k, (start, end) in enumerate(itertools.pairwise(row.boundaries)):
            assert row.position_ids[start:end] == list(range(end - start))
            assert row.segment_ids[start:end] == [k + 1] * (end - start)
            seen.append((row.input_ids[start:end], row.labels[start:end]))
    assert sorted(seen) == sorted(examples)


def test_packing_drops_overlong() -> None:
    rows, dropped = pack([([1] * 10, [1] * 10), ([2] * 3, [2] * 3)], 8)
    assert dropped == 1 and rows[0].input_ids == [2, 2, 2]


def test_load_bundle_alpaca_and_sharegpt(tmp_path: Path) -> None:
    info = dataset_info("proj", make_options(format="alpaca", system_prompt="Be brief."), with_val=False)
    (tmp_path / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    alpaca = [{"instruction": "Q1", "input": "ctx", "output": "A1", "system": "Be brief."},
              {"instruction": "Q2", "input": "", "output": None, "system": ""}]
    sharegpt = [{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q1"},
                              {"role": "assistant", "content": "A1"}]},
                {"messages": [{"role": "assistant", "content": "bad"}]}]
    (tmp_path / "alpaca.json").write_text(json.dumps(alpaca), encoding="utf-8")
    (tmp_path / "sharegpt.json").write_text(json.dumps(sharegpt), encoding="utf-8")
    a = load_dataset(["proj_alpaca"], tmp_path)
    assert a.skipped == 1 and a.conversations[0] == Conversation(
        (Message("user", "Q1\nctx"), Message("assistant", "A1")), "Be brief.")
    s = load_dataset(["proj_sharegpt"], tmp_path)
    assert s.skipped == 1 and s.conversations[0].system == "Be brief."
    assert len(load_dataset(["proj_alpaca", "proj_sharegpt"], tmp_path, max_samples=1).conversations) == 2


def test_alpaca_history_and_default_sharegpt_tags(tmp_path: Path) -> None:
    info = {"h": {"file_name": "h.jsonl", "columns": {"history": "history"}},
            "s": {"file_name": "s.json", "formatting": "sharegpt"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    (tmp_path / "h.jsonl").write_text(json.dumps({"instruction": "Q2", "input": "", "output": "A2",
                                                  "history": [["Q1", "A1"]]}) + "\n", encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps([{"conversations": [{"from": "human", "value": "Q"},
                                                                    {"from": "gpt", "value": "A"}]}]))
    [h] = load_dataset(["h"], tmp_path).conversations
    assert [m.content for m in h.messages] == ["Q1", "A1", "Q2", "A2"]
    [s] = load_dataset(["s"], tmp_path).conversations
    assert s.messages == (Message("user", "Q"), Message("assistant", "A"))


def test_unknown_dataset_name(tmp_path: Path) -> None:
    (tmp_path / "dataset_info.json").write_text("{}", encoding="utf-8")
    with pytest.raises(Exception, match="Undefined dataset"):
        load_dataset(["nope"], tmp_path)


def test_bad_rows_are_named_and_the_rest_load(tmp_path: Path) -> None:
    info = {"a": {"file_name": "a.jsonl"}, "s": {"file_name": "s.json", "formatting": "sharegpt"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    good = {"instruction": "Q", "input": "", "output": "A"}
    no_input = {"instruction": "Q2", "output": "A2"}  # a left-out column counts as empty
    lines = [json.dumps(good), "{broken", json.dumps({"instruction": "Q"}), '"just a string"', json.dumps(no_input)]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps([{"conversations": [{"from": "gpt", "value": "A"}]}, {},
                                                 {"conversations": [{"from": "human"}, {"from": "gpt", "value": "A"}]},
                                                 {"conversations": 3}]))
    loaded = load_dataset(["a", "s"], tmp_path)
    assert [c.messages[-1].content for c in loaded.conversations] == ["A", "A2"]
    assert loaded.problems == (
        "a.jsonl line 2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "a.jsonl line 3: no string response in column `output`",
        "a.jsonl line 4: not a JSON object (got str)",
        "s.json row 1: turns are not user/assistant in turn, or the last one is not the assistant's",
        "s.json row 2: missing key 'conversations'",
        "s.json row 3: missing key 'value'",
        "s.json row 4: not a row of `sharegpt` format (TypeError: 'int' object is not iterable)",
    )


@pytest.mark.parametrize(("content", "message"), [
    (b'[{"instruction": "Q", "output": "A"}', "is not valid JSON — got Expecting ',' delimiter at line 1 column 37"),
    ('[{"instruction": "问", "output": "答"}]'.encode("gbk"), "is not UTF-8 text"),
])
def test_a_broken_json_file_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "dataset_info.json").write_text(json.dumps({"b": {"file_name": "b.json"}}), encoding="utf-8")
    (tmp_path / "b.json").write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_dataset(["b"], tmp_path)
    assert str(tmp_path / "b.json") in str(caught.value)
