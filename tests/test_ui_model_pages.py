"""Web UI part 2 at the HTTP level (httpx through the app, no browser), on a tiny model trained for six steps:
every page of the model half renders in both languages with its JSON twin and no message key showing; the message
keys the pages build at run time are in both files; the training form previews exactly what it starts, and the run
it starts is a recorded run; a background run started as `loreforge train --background` does is followed live
(points, log, progress, end); the blind test keeps the models hidden until the vote; a chat answer streams and an
exchange becomes a dataset item; data is escaped; and on a served UI the folders a form names are confined and
trust_remote_code is refused, as the API does; a LoRA run is merged from its page; the Serve page starts a model
server that answers and stops it. The browser flow is tests/test_ui_model_browser.py."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from model_workspace import PROJECT, Trained, trained_home, train_config

from loreforge.errors import Conflict
from loreforge.web.app import create_app

UI = Path(__file__).resolve().parent.parent / "loreforge" / "web" / "ui"
HX = {"HX-Request": "true"}
P = f"/ui/p/{PROJECT}"
PREFIXES = ("train", "runs", "eval", "arena", "chat", "serve", "env", "pipeline")


@pytest.fixture(scope="module")
def t(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return trained_home(tmp_path_factory)


@pytest.fixture(scope="module")
def client(t: Trained) -> Iterator[TestClient]:
    with TestClient(create_app(t.svc)) as c:
        yield c


def _visible(page: str) -> str:
    page = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def _pages(t: Trained) -> list[str]:
    arena = t.svc.create_arena(PROJECT, str(t.model), "", adapter_b=str(t.run.id), size=1, max_new_tokens=2)
    evaluation = t.svc.list_evals(PROJECT)[0].id if t.svc.list_evals(PROJECT) else t.svc.evaluate(
        PROJECT, str(t.model), str(t.run.id), max_new_tokens=2).id
    pipeline = t.svc.run_pipeline({"name": "quick", "project": "pl", "documents": [str(p) for p in _examples()]}, until="split")
    return [f"{P}/train", f"{P}/train?run={t.run.id}", f"{P}/runs", "/ui/runs?status=completed&method=full&q=tiny",
            f"/ui/runs/{t.run.id}", f"/ui/runs/compare?a={t.run.id}&b={t.run.id}", f"{P}/eval", f"/ui/evals/{evaluation}",
            f"/ui/evals/compare?a={evaluation}&b={evaluation}", f"{P}/arena", f"/ui/arena/{arena.id}", f"{P}/chat",
            f"{P}/serve", "/ui/serve", "/ui/env", "/ui/pipelines", f"/ui/pipelines/{pipeline.id}"]


def _examples() -> list[Path]:
    from conftest import examples

    return examples()


def test_every_part_2_page_renders_in_both_languages(t: Trained, client: TestClient) -> None:
    urls = _pages(t)
    for lang, word in (("en", "Evaluate"), ("zh-CN", "评估")):
        client.cookies.set("loreforge_lang", lang)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.text[-800:])
            assert f'<html lang="{lang}">' in response.text and 'class="twin" href="/api/' in response.text, url
            assert not re.search(rf"\b(?:{'|'.join(PREFIXES)})\.[a-z_]+\b", _visible(response.text)), url
            if url.startswith(P):
                assert word in response.text, url
    client.cookies.clear()


def test_keys_built_at_run_time_are_in_both_message_files() -> None:
    from loreforge.web.ui import train_form

    en = json.loads((UI / "messages" / "en.json").read_text(encoding="utf-8"))
    zh = json.loads((UI / "messages" / "zh-CN.json").read_text(encoding="utf-8"))
    built = {f"{p}.nav" for p in PREFIXES} | {f"train.f_{f.key}" for f in train_form.FIELDS} | {"train.f_nproc"}
    built |= {f"train.group_{g}" for g in train_form.GROUPS} | {f"train.choice_{c}" for c in ("", "lora", "full", "freeze", "bf16", "fp16", "fp32")}
    built |= {f"train.help_{f.key}" for f in train_form.FIELDS if not train_form.help_text(f.key)}
    built |= {f"eval.kind_{k}" for k in ("held_out", "reworded", "key_fact", "general")}
    built |= {f"eval.qtype_{q}" for q in ("open", "short", "true_false", "single_choice", "multiple_choice")}
    built |= {f"eval.{k}_{v}" for k, vs in (("model", ("base", "tuned", "rag")), ("by", ("set", "kind", "document", "tag")),
                                              ("group", ("set", "kind", "document", "tag")), ("none", ("regressions", "wins"))) for v in vs}
    built |= {f"arena.you_voted_{v}" for v in ("left", "right", "both_good", "both_bad")} | {"arena.left", "arena.right"}
    built |= {f"serve.status_{s}" for s in ("starting", "ready", "stopped", "exited")}
    built |= {f"pipeline.status_{s}" for s in ("pending", "running", "completed", "failed", "cancelled", "skipped")}
    assert not built - set(en), sorted(built - set(en))
    assert set(en) == set(zh)


def _form(page: str) -> dict[str, str]:
    """The training form's fields as a browser would send them."""
    form: dict[str, str] = {}
    for name, value in re.findall(r'<input id="f-[a-z_]+" name="([a-z_]+)" value="([^"]*)"', page):
        form[name] = html.unescape(value)
    for name, options in re.findall(r'<select id="f-[a-z_]+" name="([a-z_]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = html.unescape(chosen.group(1)) if chosen else ""
    for name, checked in re.findall(r'<input type="checkbox" id="f-[a-z_]+" name="([a-z_]+)"[^>]*?( checked)?>', page):
        if checked:
            form[name] = "on"
    form["other_yaml"] = html.unescape(re.search(r'<textarea name="other_yaml"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    return form


def test_the_training_form_previews_what_it_starts(t: Trained, client: TestClient) -> None:
    page = client.get(f"{P}/train").text
    form = _form(page)
    assert form["lora_rank"] == "16" and form["learning_rate"] == "0.0001" and form["model_name_or_path"] == ""  # the reference recipe
    assert "dataset_dir: " + str(t.bundle) in form["other_yaml"] and form["include_num_input_tokens_seen"] == "on"
    assert "LoRA: the adapter matrices&#39; rank" in page  # each field's help is the config model's description
    form.update(model_name_or_path=str(t.model), finetuning_type="full", max_steps="2", cutoff_len="96", precision="fp32",
                per_device_train_batch_size="2", gradient_accumulation_steps="1", eval_steps="", save_steps="2")
    preview = client.post(f"{P}/train/preview", data=form, headers=HX)
    assert preview.status_code == 200, preview.text
    shown = yaml.safe_load(html.unescape(re.search(r'<pre class="yaml">(.*?)</pre>', preview.text, re.S).group(1)))
    assert shown["max_steps"] == 2 and "lora_rank" not in shown and "eval_strategy" not in shown
    assert 'download="train.yaml"' in preview.text
    runs = len(t.svc.list_runs())
    started = client.post(f"{P}/train/start", data=form, headers=HX)
    run_id = int(started.headers["HX-Redirect"].rsplit("/", 1)[1])
    recorded = t.svc.get_run(run_id).config  # every key of the preview, as the run records it (defaults beside)
    assert len(t.svc.list_runs()) == runs + 1 and {k: recorded[k] for k in shown} == shown
    t.svc.cancel_run(run_id)
    bad = client.post(f"{P}/train/preview", data={**form, "other_yaml": "lora_rnak: 8\n"}, headers=HX)
    assert bad.status_code == 422 and "Did you mean `lora_rank`?" in html.unescape(bad.text)


def test_a_llama_board_yaml_loads_into_the_form(client: TestClient) -> None:
    board = ("model_name_or_path: Qwen/Qwen2.5-3B-Instruct\nstage: sft\ndo_train: true\nfinetuning_type: lora\nlora_rank: 32\n"
             "dataset: mine\ndataset_dir: data\ntemplate: qwen\ncutoff_len: 2048\nlearning_rate: 5.0e-05\nnum_train_epochs: 3.0\n"
             "per_device_train_batch_size: 2\ngradient_accumulation_steps: 8\nlr_scheduler_type: cosine\nbf16: true\n"
             "ddp_timeout: 180000000\ninclude_num_input_tokens_seen: true\noutput_dir: saves/x\nplot_loss: true\n")
    loaded = client.post(f"{P}/train/load", files={"file": ("training_args.yaml", board.encode())}, headers=HX)
    assert loaded.status_code == 200 and "Loaded training_args.yaml: 19 keys" in loaded.text
    form = _form(loaded.text)
    assert (form["lora_rank"], form["precision"], form["learning_rate"]) == ("32", "bf16", "5e-05")
    assert "ddp_timeout: 180000000" in form["other_yaml"] and "dataset: mine" in form["other_yaml"]
    broken = client.post(f"{P}/train/load", files={"file": ("x.yaml", b"a: [1,\n")}, headers=HX)
    assert broken.status_code == 400 and broken.headers["HX-Retarget"] == "#load-slot" and "not valid YAML" in broken.text


def test_a_run_started_from_the_cli_is_followed_live(t: Trained, client: TestClient) -> None:
    config = train_config(t.bundle, t.model, t.root / "run-cli", max_steps=4, save_steps=2, eval_steps=2)
    run = t.svc.train(config, project=PROJECT, background=True)  # what `loreforge train --background` does
    assert f'href="/ui/runs/{run.id}"' in client.get("/ui/runs").text
    with client.stream("GET", f"/ui/runs/{run.id}/events") as stream:
        body = "".join(stream.iter_text())
    names = re.findall(r"^event: (\w+)$", body, re.M)
    assert names[-1] == "end" and "progress" in names and "point" in names and "log" in names, names
    points = [json.loads(block.split("data: ", 1)[1]) for block in body.split("\n\n") if block.startswith("event: point")]
    assert sorted({p["current_steps"] for batch in points for p in batch if "loss" in p}) == [1, 2, 3, 4]
    assert 'data-status="completed"' in body.split("event: end", 1)[1]
    page = client.get(f"/ui/runs/{run.id}").text
    assert "checkpoint-4" in page and "★" in page and "[-100 x " in page  # best marked; the example from its log
    assert "sse-connect" not in page  # ended: nothing to follow


def test_the_blind_test_page_hides_the_models_until_the_vote(t: Trained, client: TestClient) -> None:
    arena = t.svc.create_arena(PROJECT, str(t.model), "", adapter_b=str(t.run.id), size=1, max_new_tokens=3, name="blind")
    page = client.get(f"/ui/arena/{arena.id}").text
    current = t.svc.next_arena_round(arena.id)
    round_html = page.split('id="arena-round"', 1)[1].split('id="arena-results"', 1)[0]
    assert "sse-connect" in round_html and "swatch-" not in round_html and "run 1" not in round_html
    for side in ("left", "right"):
        with client.stream("GET", f"/ui/arena/{arena.id}/rounds/{current.id}/{side}/stream") as stream:
            assert "event: end" in "".join(stream.iter_text())
    voted = client.post(f"/ui/arena/{arena.id}/rounds/{current.id}/vote", data={"vote": "both_good"}, headers=HX)
    assert voted.status_code == 200 and "You voted: both good" in voted.text
    assert arena.models["a"].name in voted.text and arena.models["b"].name in voted.text and 'hx-swap-oob="true"' in voted.text
    again = client.post(f"/ui/arena/{arena.id}/rounds/{current.id}/vote", data={"vote": "left"}, headers=HX)
    assert again.status_code == 409 and "already voted" in again.text


def test_chat_streams_both_answers_and_keeps_an_exchange(t: Trained, client: TestClient) -> None:
    opened = client.get(f"{P}/chat?run={t.run.id}", follow_redirects=False)
    url = opened.headers["location"]
    chat_id = url.split("c=", 1)[1]
    evil = "<script>alert(1)</script> revenue?"
    sent = client.post(f"{P}/chat/{chat_id}/send", data={"message": evil}, headers=HX)
    assert sent.status_code == 200 and "&lt;script&gt;" in sent.text and "<script>alert" not in sent.text
    assert sent.text.count("sse-connect") == 2
    ends = []
    for side in (0, 1):
        with client.stream("GET", f"/ui/chat/{chat_id}/0/{side}/stream") as stream:
            body = "".join(stream.iter_text())
        ends.append(body.split("event: end", 1)[1])
    assert all('name="answer"' in end for end in ends) and f"run {t.run.id}" in ends[1]
    page = client.get(url).text  # a reload shows the finished turn again, no stream
    assert page.count('class="turn-answer"') == 2 and "sse-connect" not in page.split('id="chat-log"', 1)[1]
    kept = client.post(f"{P}/chat/keep", data={"question": "What is X?", "answer": "X is 42.", "model": "run 1", "confirmed": "on"}, headers=HX)
    item = int(re.search(r"Dataset item (\d+) added", kept.text).group(1))
    assert t.svc.show_dataset_item(PROJECT, item).answer == "X is 42." and f"/dataset/{item}" in kept.text


def test_a_served_ui_confines_what_the_training_form_writes(t: Trained) -> None:
    from loreforge.settings.server import ServerSettings

    form = {"model_name_or_path": str(t.model), "finetuning_type": "full", "precision": "fp32", "max_steps": "1",
            "output_dir": "/tmp/somewhere-else", "other_yaml": yaml.safe_dump({"dataset": "facts_alpaca", "dataset_dir": str(t.bundle)})}
    with TestClient(create_app(t.svc, ServerSettings()), base_url="http://127.0.0.1:8717") as served:
        outside = served.post(f"{P}/train/preview", data=form, headers=HX)
        assert outside.status_code == 403 and "output_dir" in outside.text
        remote = served.post(f"{P}/train/preview", headers=HX, data={**form, "output_dir": "runs/x",
                                                                      "other_yaml": form["other_yaml"] + "trust_remote_code: true\n"})
        assert remote.status_code == 403 and "--allow-remote-code" in html.unescape(remote.text)
        inside = served.post(f"{P}/train/preview", data={**form, "output_dir": "runs/x"}, headers=HX)
        assert inside.status_code == 200 and str(Path(t.svc.get_project(PROJECT).path) / "runs" / "runs" / "x") in html.unescape(inside.text)
        cross = served.post(f"{P}/train/start", data=form, headers={"Origin": "http://evil.example", **HX})
        assert cross.status_code == 403


def test_a_lora_run_merges_from_its_page_and_shows_its_first_example(t: Trained, client: TestClient) -> None:
    config = train_config(t.bundle, t.model, t.root / "run-lora", finetuning_type="lora", lora_rank=4, lora_target="all",
                          max_steps=2, save_steps=2, eval_steps=2, learning_rate=1e-3)
    run = t.svc.train(config, project=PROJECT)
    page = client.get(f"/ui/runs/{run.id}").text
    assert "Merge the adapter into the base" in page and "Tokenize it now" in page  # a foreground run: no log file
    example = client.get(f"/ui/runs/{run.id}/example", headers=HX).text
    assert '<span class="masked"' in example and "[-100 x " in example
    out = t.root / "merged"
    merged = client.post(f"/ui/runs/{run.id}/merge", data={"base_model": str(t.model), "out": str(out)}, headers=HX)
    assert merged.status_code == 200 and "Merged model" in merged.text and (out / "config.json").is_file()
    again = client.post(f"/ui/runs/{run.id}/merge", data={"base_model": str(t.model), "out": str(out)}, headers=HX)
    assert again.status_code >= 400 and 'class="msg error"' in again.text  # the folder has files: said where it happened


def test_the_serve_page_starts_a_model_server_that_answers_and_stops_it(t: Trained, client: TestClient) -> None:
    started = client.post("/ui/serve/start", data={"run": str(t.run.id), "back": f"{P}/serve"}, headers=HX)
    assert started.headers["HX-Redirect"].startswith(f"{P}/serve?started=")
    view = t.svc.list_model_servers()[0]
    try:
        assert list(view.models) == ["tiny", "tuned"] and view.url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 90
        while view.status == "starting" and time.monotonic() < deadline:
            time.sleep(0.5)
            view = next(v for v in t.svc.list_model_servers() if v.id == view.id)
        assert view.status == "ready", view.log_tail
        names = [m["id"] for m in httpx.get(view.url + "/models", timeout=10).json()["data"]]
        assert names == ["tiny", "tuned"]
        page = client.get(f"{P}/serve").text
        assert f'value="{view.url}"' in page and 'base_url="' + view.url in html.unescape(page) and 'model="tuned"' in html.unescape(page)
        with pytest.raises(Conflict, match="in use"):
            t.svc.start_model_server(str(t.run.id), port=view.port)
    finally:
        stopped = client.post(f"/ui/serve/{view.id}/stop", headers=HX)
    assert stopped.status_code == 200 and "stopped" in stopped.text
    assert next(v for v in t.svc.list_model_servers(stopped=True) if v.id == view.id).status == "stopped"
    with pytest.raises(httpx.HTTPError):
        httpx.get(view.url + "/models", timeout=2)
