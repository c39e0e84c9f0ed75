"""The generation engine (`loreforge/inference/engine.py`) on real models: batched greedy answers equal
one-by-one answers (left padding done right), on a sharp tiny model and on the starter model; a merged adapter
answers as the unmerged one does, and differently from its base; streamed pieces join to the batched answer; stop
strings, finish reasons and token counts; tuned folders (LoRA or full) and run ids; the batching queue."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from inference_models import conversations, random_adapter, sharp_tiny_model  # noqa: E402

from loreforge.errors import UserError  # noqa: E402
from loreforge.inference.batcher import Batcher  # noqa: E402
from loreforge.inference.engine import LoadedModel, generate, load_model, load_tuned, stream  # noqa: E402
from loreforge.inference.tuned import parse_named, tuned_folder  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inference")
    model = sharp_tiny_model(root / "model")
    return {"model": model, "adapter": random_adapter(model, root / "adapter")}


@pytest.fixture(scope="module")
def base(models: dict[str, Path]) -> LoadedModel:
    return load_model(str(models["model"]))


def test_batched_greedy_equals_one_by_one(base: LoadedModel) -> None:
    convs = conversations()
    one_by_one = [generate(base, [c], max_new_tokens=12)[0] for c in convs]
    for batch_size in (3, 16):  # uneven batches (7 = 3 + 3 + 1) and one batch holding all
        assert generate(base, convs, max_new_tokens=12, batch_size=batch_size) == one_by_one
    assert len({g.text for g in one_by_one}) == len(convs)  # the answers depend on the prompt
    lengths = [len(base.tokenizer.apply_chat_template(c, tokenize=True, add_generation_prompt=True)["input_ids"])
               for c in convs]
    assert [g.prompt_tokens for g in one_by_one] == lengths  # padding is not counted


def test_batched_greedy_equals_one_by_one_on_the_starter_model(starter_model: Path) -> None:
    model = load_model(str(starter_model))
    convs = [[{"role": "user", "content": q}] for q in ("What is the capital of France?", "Name a primary colour.",
                                                       "How many legs does a spider have? Answer briefly.")]
    batched = generate(model, convs, max_new_tokens=16, batch_size=3)
    assert batched == [generate(model, [c], max_new_tokens=16)[0] for c in convs]
    assert "Paris" in batched[0].text
    assert batched[0].finish_reason == "stop" and batched[0].completion_tokens < 16  # ended by <|im_end|>


def test_merged_adapter_answers_as_unmerged(models: dict[str, Path], base: LoadedModel) -> None:
    from peft import PeftModel

    merged = load_model(str(models["model"]), models["adapter"])
    unmerged = load_model(str(models["model"]), models["adapter"], merge=False)
    assert merged.merged and not unmerged.merged and isinstance(unmerged.model, PeftModel)
    convs = conversations(5)
    tuned = generate(merged, convs, max_new_tokens=10)
    assert tuned == generate(unmerged, convs, max_new_tokens=10)
    assert tuned != generate(base, convs, max_new_tokens=10)  # the adapter changes the answers


def test_stream_joins_to_the_batched_answer(base: LoadedModel) -> None:
    conv = conversations()[2]
    text = stream(base, conv, max_new_tokens=12)
    pieces = list(text)
    whole = generate(base, [conv], max_new_tokens=12)[0]
    assert len(pieces) > 1 and "".join(pieces) == whole.text and text.result == whole


def test_stop_strings_cut_answers_and_streams(base: LoadedModel) -> None:
    conv = conversations()[2]
    full = generate(base, [conv], max_new_tokens=12)[0]
    assert full.finish_reason == "length" and full.completion_tokens == 12
    stop = full.text[len(full.text) // 2:][:2]
    expected = full.text[: full.text.find(stop)]
    cut = generate(base, [conv, conversations()[0]], max_new_tokens=12, stop=[stop])[0]
    assert cut.text == expected and cut.finish_reason == "stop"
    streamed = stream(base, conv, max_new_tokens=12, stop=[stop])
    assert "".join(streamed) == expected and streamed.result is not None and streamed.result.text == expected


def test_closing_a_stream_stops_generation(base: LoadedModel) -> None:
    text = stream(base, conversations()[0], max_new_tokens=400)
    started = time.monotonic()
    for _piece in text:
        text.close()
    assert text.result is not None and text.result.completion_tokens < 400
    assert time.monotonic() - started < 30


def test_bad_generation_options_are_user_errors(base: LoadedModel) -> None:
    with pytest.raises(UserError, match="max_new_tokens"):
        generate(base, conversations(1), max_new_tokens=0)
    with pytest.raises(UserError, match="batch_size"):
        generate(base, conversations(1), max_new_tokens=1, batch_size=0)
    with pytest.raises(UserError, match="temperature"):
        generate(base, conversations(1), max_new_tokens=1, temperature=-1)


def test_sampling_runs(base: LoadedModel) -> None:
    out = generate(base, conversations(2), max_new_tokens=4, temperature=1.0, top_p=0.9)
    assert all(g.completion_tokens == 4 for g in out)


def test_load_tuned_takes_an_adapter_or_a_full_model(models: dict[str, Path], base: LoadedModel) -> None:
    lora = load_tuned(str(models["model"]), models["adapter"])
    assert lora.adapter == models["adapter"].resolve() and lora.merged
    full = load_tuned("unused-base", models["model"])  # a full fine-tuned folder stands alone
    assert full.adapter is None and generate(full, conversations(2), max_new_tokens=5) == \
        generate(base, conversations(2), max_new_tokens=5)


def test_tuned_folder_resolves_run_ids_and_checks_folders(models: dict[str, Path], tmp_path: Path) -> None:
    runs = {3: SimpleNamespace(output_dir=str(models["adapter"]), status="completed"),
            4: SimpleNamespace(output_dir=str(tmp_path / "gone"), status="failed"),
            5: SimpleNamespace(output_dir=None, status="queued")}
    assert tuned_folder("3", runs.__getitem__) == models["adapter"].resolve()
    assert tuned_folder(str(models["model"]), runs.__getitem__) == models["model"].resolve()
    with pytest.raises(UserError, match=r"No tuned model in train run 4's output .*status failed"):
        tuned_folder("4", runs.__getitem__)
    with pytest.raises(UserError, match="has no output folder"):
        tuned_folder("5", runs.__getitem__)
    with pytest.raises(UserError, match="adapter_config.json.*config.json.*got a missing folder"):
        tuned_folder(str(tmp_path / "nothing"), runs.__getitem__)


@pytest.mark.parametrize("spec", ["tuned", "=3", "tuned=", "my model=3"])
def test_named_adapters_need_name_and_target(spec: str) -> None:
    with pytest.raises(UserError, match="NAME=RUN|DIR|no spaces"):
        parse_named(spec)
    assert parse_named(" tuned = ./run ") == ("tuned", "./run")


def test_batcher_groups_by_options_and_forwards_errors() -> None:
    calls: list[tuple[list[int], str]] = []

    def run(items: list[int], options: str) -> list[Any]:
        calls.append((items, options))
        if options == "bad":
            raise UserError("broken batch")
        return [i * 10 for i in items]

    batcher: Batcher[int, str, Any] = Batcher(run, lambda o: o, batch_size=3, wait_s=0.01)

    async def go() -> list[Any]:
        jobs = [batcher.submit(i, "a") for i in range(4)] + [batcher.submit(9, "b"), batcher.submit(7, "bad")]
        return await asyncio.gather(*jobs, return_exceptions=True)

    out = asyncio.run(go())
    assert out[:5] == [0, 10, 20, 30, 90] and isinstance(out[5], UserError)
    assert sorted(calls) == sorted([([0, 1, 2], "a"), ([3], "a"), ([9], "b"), ([7], "bad")])
    assert batcher.batches == 4 and batcher.largest_batch == 3
    batcher.close()
