"""Contract tests with the real consumers of our exports: LLaMA Factory trains 2 steps on our bundle (Alpaca
and ShareGPT entries, with the validation split), TRL's SFT data path reads our messages JSONL, and
`datasets.load_from_disk` reads our HF folder — each in its own environment with CPU torch.

This is the CI stage `contract` (`make contract`, run by .ci/run after `make test`): it needs the venv that
`.ci/llamafactory-venv.sh` builds, named by LOREFORGE_LF_PYTHON; without it these tests are skipped."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import financial
from loreforge.service import Service
from loreforge.service.dataset import DatasetFilter

LF_PYTHON = os.environ.get("LOREFORGE_LF_PYTHON")
HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(not LF_PYTHON, reason="contract stage only: set LOREFORGE_LF_PYTHON (make contract)")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    texts = [str(p) for p in financial("kuaishou.md", "jd.txt")]
    subprocess.run([str(LF_PYTHON), str(HERE / "contract" / "make_tiny_qwen2.py"), str(out), *texts], check=True, timeout=300)
    return out


@pytest.fixture()
def confirmed(svc: Service) -> str:
    svc.create_project("fin")
    svc.ingest("fin", financial("kuaishou.md", "jd.txt"))
    svc.generate_questions("fin")
    svc.generate_answers("fin")
    svc.set_setting("fin", "language", "zh")
    svc.confirm_dataset("fin", DatasetFilter())
    return "fin"


def _lf_bin() -> str:
    return str(Path(str(LF_PYTHON)).parent / "llamafactory-cli")


@pytest.mark.parametrize("entry", ["alpaca", "sharegpt"])
def test_llamafactory_trains_on_our_bundle(svc: Service, confirmed: str, tiny_model: Path, tmp_path: Path, entry: str) -> None:
    report = svc.export(confirmed, tmp_path / "bundle", val_size=0.2)
    bundle = Path(report.folder)
    config = yaml.safe_load((bundle / "train_lora.yaml").read_text(encoding="utf-8"))
    assert config["dataset_dir"] == str(bundle) and config["template"] == "qwen"
    config.update(
        model_name_or_path=str(tiny_model), dataset=f"fin_{entry}", eval_dataset=f"fin_{entry}_val",
        output_dir=str(tmp_path / "out"), max_steps=2, bf16=False, cutoff_len=128, per_device_train_batch_size=1,
        per_device_eval_batch_size=1, gradient_accumulation_steps=1, eval_steps=1, save_steps=2, logging_steps=1,
        preprocessing_num_workers=1, plot_loss=False,
    )
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "DISABLE_VERSION_CHECK": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1", "WANDB_DISABLED": "true"}
    run = subprocess.run([_lf_bin(), "train", str(cfg)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "all_results.json").read_text())
    assert results["train_loss"] > 0 and "eval_loss" in results
    state = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    assert state["global_step"] == 2


def test_trl_and_datasets_read_our_exports(svc: Service, confirmed: str, tiny_model: Path, tmp_path: Path) -> None:
    messages = svc.export(confirmed, tmp_path / "messages", format="messages", file_type="jsonl", system_prompt="你是财经助手。")
    hf = svc.export(confirmed, tmp_path / "hf", format="hf", val_size=0.2)
    run = subprocess.run(
        [str(LF_PYTHON), str(HERE / "contract" / "trl_messages.py"), str(tiny_model), str(Path(messages.folder) / "train.jsonl"), hf.folder],
        capture_output=True, text=True, timeout=600, env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("OK ") == 3, run.stdout


def test_llamafactory_accepts_our_llamaboard_fixture(tiny_model: Path, tmp_path: Path) -> None:
    """The LLaMA Board `training_args.yaml` that tests/test_train_lf_example.py runs with `loreforge train` is one
    LLaMA Factory itself trains on (1 step, on CPU: bf16 off; the model swapped for the tiny one)."""
    from test_train_lf_example import ALPACA, EXAMPLES, IDENTITY

    data = tmp_path / "data"
    data.mkdir()
    for name, rows in {"identity": IDENTITY, "alpaca_en_demo": ALPACA}.items():
        (data / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
    (data / "dataset_info.json").write_text(json.dumps({n: {"file_name": f"{n}.json"} for n in ("identity", "alpaca_en_demo")}))
    overrides = [f"model_name_or_path={tiny_model}", "max_steps=1", "bf16=false", "preprocessing_num_workers=1",
                 "output_dir=out", "plot_loss=false"]
    env = {**os.environ, "DISABLE_VERSION_CHECK": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1", "WANDB_DISABLED": "true"}
    board = EXAMPLES / "llamaboard_training_args.yaml"
    run = subprocess.run([_lf_bin(), "train", str(board), *overrides], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert json.loads((tmp_path / "out" / "trainer_state.json").read_text())["global_step"] == 1


# LLaMA Factory's own ComputeSimilarity, fed our strings through a tokenizer whose ids stand for whole texts (row i
# decodes to texts[i - 1]; 0 pads), so that what it scores is exactly what we score.
_LF_SIMILARITY = """
import json, sys
import numpy as np
from transformers import EvalPrediction
from llamafactory.train.sft.metric import ComputeSimilarity

class Texts:
    pad_token_id = 0
    def __init__(self, texts):
        self.texts = texts
    def batch_decode(self, rows, skip_special_tokens=True):
        return [self.texts[int(row[0]) - 1] for row in rows]

pairs = json.load(open(sys.argv[1], encoding="utf-8"))
preds, labels = [p for p, _ in pairs], [r for _, r in pairs]
def score(indices):
    metric = ComputeSimilarity(tokenizer=Texts(preds + labels))
    ids = np.array([[i + 1] for i in indices]), np.array([[len(preds) + i + 1] for i in indices])
    return metric(EvalPrediction(predictions=ids[0], label_ids=ids[1]))
out = {"each": [score([i]) for i in range(len(pairs))], "all": score(list(range(len(pairs))))}
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
"""

SIMILARITY_PAIRS = [
    ("快手2024年第二季度经调整净利润同比增长73.7%。", "快手2024年第二季度经调整净利润同比增长73.7%。"),
    ("快手净利润增长48.7%", "快手净利润增长73.7%"),
    ("京东的营业收入为1.16万亿元", "京东营业收入是1.16万亿元。"),
    ("收入增长。利润下降！现金流稳定？", "收入增长，利润也增长。现金流稳定。"),
    ("The cat sat on the mat.", "The cat is on the mat."),
    ("Adjusted net profit rose 73.7% year on year to RMB 4.7 billion.", "It grew 73.7%, to 4.7 billion yuan."),
    ("Kuaishou 的可灵 AI 模型 Kling 发布于2024年6月。", "可灵（Kling）于2024年6月6日发布。"),
    ("", "营业收入为310亿元。"),
    ("。。。", "营业收入为310亿元。"),
    ("Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris", "Paris is the capital of France."),
    ("B", "B. Paris"),
]


def test_our_bleu_and_rouge_equal_llamafactorys(tmp_path: Path) -> None:
    """metrics.bleu4 / rouge / similarity give LLaMA Factory's ComputeSimilarity numbers on the same strings."""
    from loreforge.evaluate.metrics import bleu4, rouge, similarity

    given, taken = tmp_path / "pairs.json", tmp_path / "scores.json"
    given.write_text(json.dumps(SIMILARITY_PAIRS, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([str(LF_PYTHON), "-c", _LF_SIMILARITY, str(given), str(taken)], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "DISABLE_VERSION_CHECK": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    theirs = json.loads(taken.read_text(encoding="utf-8"))
    for (prediction, reference), lf in zip(SIMILARITY_PAIRS, theirs["each"], strict=True):
        ours = {**rouge(prediction, reference), "bleu-4": bleu4(prediction, reference)}
        assert ours == pytest.approx(lf, abs=5e-5), (prediction, reference)
    ours_all = similarity([p for p, _ in SIMILARITY_PAIRS], [r for _, r in SIMILARITY_PAIRS])
    assert ours_all == pytest.approx({f"predict_{k}": v for k, v in theirs["all"].items()}, abs=5e-5)
    assert 0 < ours_all["predict_bleu-4"] < 100 and 0 < ours_all["predict_rouge-l"] < 100


def test_llamafactory_reads_our_multimodal_entry(svc: Service, tmp_path: Path) -> None:
    """The bundle's image QA entry (`<project>_mllm`, with its `images/`) is read by LLaMA Factory's own loader and
    ShareGPT converter: every row's `<image>` turn, response and image file resolve (runs without the shared corpus)."""
    import io
    import sys

    from PIL import Image as PILImage

    sys.path.insert(0, str(HERE))
    from fake_llm import FakeLLM
    from test_images import sees

    svc.create_project("vis")
    for i, color in enumerate(((255, 0, 0), (0, 128, 255))):
        buf = io.BytesIO()
        PILImage.new("RGB", (32, 32), color).save(buf, format="PNG")
        (tmp_path / f"{i}.png").write_bytes(buf.getvalue())
    svc.add_images("vis", [tmp_path / "0.png", tmp_path / "1.png"])
    with FakeLLM(responder=sees) as fake:
        svc.add_model("vis", "custom", "fake-vl", name="vl", base_url=fake.base_url, type="vision")
        svc.generate_image_qa("vis", questions_per_image=2)
    svc.confirm_dataset("vis", DatasetFilter())
    bundle = Path(svc.export("vis", tmp_path / "bundle", val_size=0).folder)
    run = subprocess.run([str(LF_PYTHON), str(HERE / "contract" / "lf_mllm.py"), str(bundle), "vis_mllm", "4"],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "OK mllm 4" in run.stdout
