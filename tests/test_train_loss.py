"""The answer-only loss: logits made only where the next token is trained, yet the same loss and gradients
as transformers' own causal-LM loss — padded and packed batches, with and without `num_items_in_batch`, and
through the trainer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from loreforge.train.collate import SFTCollator  # noqa: E402
from loreforge.train.loss import AnswerOnlyLoss  # noqa: E402
from loreforge.train.tiny import build_tiny_model  # noqa: E402

IGNORE = -100


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loss")
    corpus = root / "c.txt"
    corpus.write_text("盐湖矿业的锂盐产量是多少？二季度碳酸锂产量为1.2万吨。\n" * 30, encoding="utf-8")
    build_tiny_model(root / "model", [corpus], hidden_size=64, layers=2, heads=4, kv_heads=2, vocab_size=600)
    return root / "model"


def batches() -> list[dict[str, object]]:
    padded = SFTCollator(pad_token_id=0)([
        {"input_ids": [5, 9, 14, 33, 40, 41, 42], "labels": [IGNORE, IGNORE, IGNORE, 33, 40, 41, 42]},
        {"input_ids": [7, 8, 90, 91], "labels": [IGNORE, IGNORE, 90, 91]},
        {"input_ids": [3, 4, 5], "labels": [IGNORE, IGNORE, IGNORE]},  # nothing trained in this row
    ])
    packed = SFTCollator(pad_token_id=0)([
        {"input_ids": [5, 9, 14, 33, 7, 8, 90, 91], "labels": [IGNORE, IGNORE, 14, 33, IGNORE, IGNORE, 90, 91],
         "position_ids": [0, 1, 2, 3, 0, 1, 2, 3]},
    ])
    return [padded, packed]


@pytest.mark.parametrize("which", [0, 1], ids=["padded", "packed"])
@pytest.mark.parametrize("num_items", [None, 11])
def test_same_loss_and_gradients_as_transformers(model_dir: Path, which: int, num_items: int | None) -> None:
    from transformers import AutoModelForCausalLM

    batch = batches()[which]
    reference = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    ours = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    kwargs = {"num_items_in_batch": torch.tensor(num_items)} if num_items else {}
    expected = reference(**batch, use_cache=False, **kwargs).loss
    expected.backward()

    loss_fn = AnswerOnlyLoss()
    loss_fn.attach(ours)
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    loss_fn.expect(labels)
    outputs = ours(**inputs, use_cache=False)
    loss_fn.expect(None)
    trained = int((labels[:, 1:] != IGNORE).sum())
    assert outputs.logits.shape == (trained, ours.config.vocab_size)  # logits only where a token is trained
    got = loss_fn(outputs, labels, num_items_in_batch=torch.tensor(num_items) if num_items else None)
    got.backward()
    assert torch.allclose(got, expected, atol=1e-5), (got, expected)
    for (name, a), (_, b) in zip(reference.named_parameters(), ours.named_parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5), name
    # after the loss the hook is inert: a plain forward gives full logits again
    assert ours(**inputs, use_cache=False).logits.shape[:2] == labels.shape


def test_the_trainer_uses_it(model_dir: Path, tmp_path: Path) -> None:
    from loreforge.train.config import load_train_config
    from loreforge.train.trainer import build_trainer

    data = tmp_path / "data"
    data.mkdir()
    rows = [{"instruction": "盐湖矿业的锂盐产量是多少？", "input": "", "output": "二季度碳酸锂产量为1.2万吨。"}] * 4
    (data / "a.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    (data / "dataset_info.json").write_text(json.dumps({"a": {"file_name": "a.json"}}), encoding="utf-8")
    cfg = load_train_config({"model_name_or_path": str(model_dir), "dataset": "a", "dataset_dir": str(data),
                             "output_dir": str(tmp_path / "out"), "finetuning_type": "full", "cutoff_len": 64})
    trainer = build_trainer(cfg, tmp_path, lambda _: None).trainer
    batch = trainer.data_collator(trainer.train_dataset[:4] if isinstance(trainer.train_dataset, dict) else list(trainer.train_dataset)[:4])
    with torch.no_grad():
        expected = trainer.model(**batch, use_cache=False).loss
        got = trainer.compute_loss(trainer.model, dict(batch))
    assert torch.allclose(got, expected, atol=1e-5)
