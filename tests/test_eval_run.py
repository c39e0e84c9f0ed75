"""Evaluation runs (issue 11): scoring over choice rotations; aggregates, intervals, the paired test and the report
from stored results (no model); a run against an OpenAI-compatible endpoint (tests/fake_llm.py) as the tuned
model with the retrieval baseline and a judge; resume after a cancel and after a killed worker process, counting
what the models were asked; bad input; the CLI and REST shells; migration 0007."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from fake_llm import Faults, FakeLLM, Recorded, Reply
from sqlalchemy import create_engine, inspect, select

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.evaluate.aggregate import ResultRow, summarize
from loreforge.evaluate.answering import EvalProbe, asks_for
from loreforge.evaluate.report import PREDICT_RESULTS, PREDICTIONS, REPORT_JSON, REPORT_MD, write_report
from loreforge.evaluate.scoring import label_of, probe_correct, score_answer
from loreforge.evaluate.stats import mcnemar_exact
from loreforge.service import Service
from loreforge.store.db import Database, alembic_config
from loreforge.store.models import EvalResult, Job, LLMCall

DOC = Path(__file__).resolve().parent.parent / "loreforge" / "examples" / "facts" / "morrow-coast-companies.md"
FACTS = [  # (question, reference, key) about the example document
    ("How many people does Quillmark Instruments employ?", "Quillmark Instruments employs 346 people.", "346"),
    ("In which year was Brindle & Osk Coffee founded?", "Brindle & Osk Coffee was founded in 2016.", "2016"),
    ("How many coffee shops does Brindle & Osk Coffee operate?", "Brindle & Osk Coffee operates 41 coffee shops.", "41"),
    ("How much does a Petrel buoy weigh?", "A Petrel buoy weighs 96 kilograms.", "96 kilograms"),
]
CHOICE = {"kind": "user", "qtype": "single_choice", "question": "How many factories does Quillmark Instruments run?",
          "reference": "3", "key": "3", "options": ["5", "3", "7", "2"], "answer": [1]}
TRUE_FALSE = {"kind": "user", "qtype": "true_false", "reference": "true", "key": "14", "answer": True,
              "question": "How many service centres does Quillmark Instruments keep?\nProposed answer: 14\nIs the proposed answer correct?"}


# ---------------------------------------------------------------- scoring, aggregates and the report (no model)


def _probe(i: int, kind: str = "key_fact", qtype: str = "open", **kw: Any) -> EvalProbe:
    fields: dict[str, Any] = {"question": f"Question {i}?", "reference": f"The value is {100 + i}.", "key": str(100 + i),
                              "document": "doc-a.md" if i % 2 else "doc-b.md", "tag": "t"}
    fields.update(kw)
    return EvalProbe(i, 1, "set-1", i, kind, qtype, **fields)


def test_choice_rotations_defeat_a_model_that_always_answers_a() -> None:
    probe = _probe(1, "user", "single_choice", options=("5", "3", "7", "2"), answer=[1], key="3", reference="3")
    asks = asks_for(probe, "tuned", None)
    assert [a.rotation for a in asks] == [0, 1, 2, 3]
    assert all("A. " in a.prompt and "D. " in a.prompt for a in asks)
    always_a = [score_answer(a, "A").correct for a in asks]
    assert sum(bool(c) for c in always_a) == 1 and probe_correct(always_a) is False
    right = [score_answer(a, f"The answer is {'ABCD'[a.expected[0]]}.").correct for a in asks]
    assert probe_correct(right) is True
    assert [label_of(probe, a.rotation) for a in asks] == ["ABCD"[a.expected[0]] for a in asks]
    tf = _probe(2, "user", "true_false", answer=False, key="9")
    (ask,) = asks_for(tf, "base", None)
    assert score_answer(ask, "False.").correct is True and score_answer(ask, "True").correct is False
    assert score_answer(ask, "I cannot tell").correct is False
    opened = asks_for(_probe(3), "base", None)[0]
    assert score_answer(opened, "It is 103, as reported.").key_match is True
    assert score_answer(opened, "It is 1030.").correct is False  # 1030 does not state 103


def _results() -> tuple[list[EvalProbe], list[ResultRow]]:
    """6 key-fact, 2 reworded, 2 general probes; base right on both general ones and key fact 0; tuned right on
    every key fact, reworded 6, general 8 — so one general probe is a regression."""
    probes = [_probe(i, "key_fact") for i in range(6)] + [_probe(i, "reworded") for i in (6, 7)] \
        + [_probe(i, "general", document=None) for i in (8, 9)]
    base_right, tuned_right = {0, 8, 9}, {0, 1, 2, 3, 4, 5, 6, 8}
    rows = []
    for p in probes:
        for label, right in (("base", base_right), ("tuned", tuned_right)):
            answer = p.reference if p.id in right else "I do not know."
            ask = asks_for(p, label, None)[0]
            s = score_answer(ask, answer)
            rows.append(ResultRow(p.id, label, 0, answer, s.correct, ask.prompt, s.key_match, None, None, s.bleu, s.rouge, 12, 8, 40.0, "stop"))
    return probes, rows


def test_aggregates_intervals_and_the_paired_test_on_stored_results() -> None:
    probes, rows = _results()
    summary = summarize(probes, rows)
    base, tuned = summary["models"]["base"]["accuracy"], summary["models"]["tuned"]["accuracy"]
    assert (base["k"], base["n"], tuned["k"], tuned["n"]) == (3, 10, 8, 10)
    for cell in (base, tuned):
        assert cell["low"] < cell["rate"] < cell["high"]
    kind = summary["groups"]["kind"]
    assert kind["key_fact"]["tuned"]["k"] == 6 and kind["key_fact"]["base"]["k"] == 1 and kind["reworded"]["tuned"]["k"] == 1
    assert set(summary["groups"]["document"]) == {"doc-a.md", "doc-b.md", "(no document)"}
    pair = summary["paired"]["tuned_vs_base"]["all"]
    assert (pair["wins"], pair["losses"], pair["ties"]) == (6, 1, 3)
    assert pair["p_value"] == pytest.approx(mcnemar_exact(6, 1))
    assert [e["probe_id"] for e in summary["regressions"]] == [9]
    assert [e["probe_id"] for e in summary["general_losses"]] == [9]
    assert summary["wins_total"] == 6 and summary["models"]["tuned"]["rouge-l"]["mean"] > summary["models"]["base"]["rouge-l"]["mean"]
    narrow = summarize(probes * 1, rows, top=2)
    assert len(narrow["wins"]) == 2 and narrow["wins_total"] == 6


def test_the_report_folder(tmp_path: Path) -> None:
    probes, rows = _results()
    summary = summarize(probes, rows)
    run = {"id": 7, "project": "p", "models": {"base": "base-model", "tuned": "tuned-model"},
           "config": {"max_new_tokens": 32, "batch_size": 8, "temperature": 0.0, "top_examples": 20}, "probe_sets": ["set-1"]}
    files = write_report(tmp_path, summary, run, probes, rows)
    for name in (REPORT_MD, REPORT_JSON, PREDICTIONS, PREDICT_RESULTS, "accuracy_by_set.png", "accuracy_by_kind.png",
                 "accuracy_by_document.png", f"base/{PREDICTIONS}", f"base/{PREDICT_RESULTS}"):
        assert name in files and (tmp_path / name).is_file()
    assert (tmp_path / "accuracy_by_kind.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / REPORT_MD).read_text(encoding="utf-8")
    assert md.index("## Regressions") < md.index("## Paired comparison") < md.index("## Largest wins")
    assert "6 wins, 1 losses (regressions), 3 ties of 10 probes" in md and "General-knowledge losses (1)" in md
    assert "80.0% [49.0–94.3] (8/10)" in md  # tuned accuracy with its Wilson interval
    predictions = [json.loads(line) for line in (tmp_path / PREDICTIONS).read_text(encoding="utf-8").splitlines()]
    assert len(predictions) == 10 and set(predictions[0]) == {"prompt", "predict", "label"}
    assert predictions[0]["label"] == probes[0].reference
    results = json.loads((tmp_path / PREDICT_RESULTS).read_text())
    assert {"predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l", "predict_runtime"} <= set(results)
    data = json.loads((tmp_path / REPORT_JSON).read_text(encoding="utf-8"))
    assert len(data["results"]) == len(rows) and data["summary"]["paired"]["tuned_vs_base"]["all"]["losses"] == 1


# ---------------------------------------------------------------- runs through the service


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model (a real local model; it answers nonsense), built once for this module."""
    from loreforge.train.tiny import build_tiny_model

    folder = tmp_path_factory.mktemp("tiny") / "model"
    build_tiny_model(folder, [DOC], hidden_size=32, layers=1, heads=2, kv_heads=1, vocab_size=400)
    return folder


@pytest.fixture()
def evalp(svc: Service, tmp_path: Path) -> str:
    """A project holding the example document (split in small chunks) and an imported probe set of 6 probes."""
    svc.create_project("ev")
    for key, value in {"language": "en", "split.min_length": 150, "split.max_length": 500}.items():
        svc.set_setting("ev", key, value)
    svc.ingest("ev", [DOC])
    rows = [{"question": q, "reference": r, "key": k, "document": DOC.name} for q, r, k in FACTS] + [CHOICE, TRUE_FALSE]
    path = tmp_path / "probes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert svc.import_probes("ev", path, "mine").imported == 6
    return "ev"


def knows(req: Recorded) -> Reply:
    """An endpoint that knows the document (the 'tuned' model), and a judge under the model name judge-model."""
    prompt = req.prompt
    if req.body.get("model") == "judge-model":
        return Reply(text='{"score": 1, "reason": "it states the key fact"}')
    for question, reference, _ in FACTS:
        if question in prompt:
            return Reply(text=reference)
    if "Proposed answer" in prompt:
        return Reply(text="True")
    letters = dict((text, letter) for letter, text in re.findall(r"^([A-D])\. (.*)$", prompt, re.M))
    return Reply(text=letters.get("3", "I do not know."))


@pytest.fixture()
def endpoint() -> Iterator[FakeLLM]:
    with FakeLLM(responder=knows) as fake:
        yield fake


def _configs(svc: Service, project: str, fake: FakeLLM) -> None:
    svc.add_model(project, "custom", model="fake-model", name="served", base_url=fake.base_url, api_key="k", activate=False)
    svc.add_model(project, "custom", model="judge-model", name="judge", base_url=fake.base_url, api_key="k", activate=False)


def test_eval_against_an_endpoint_as_the_tuned_model_with_rag_and_a_judge(svc: Service, evalp: str, tiny: Path,
                                                                          endpoint: FakeLLM) -> None:
    _configs(svc, evalp, endpoint)
    seen: list[tuple[int, int]] = []
    view = svc.evaluate(evalp, str(tiny), "served", rag=True, judge="judge", max_new_tokens=8, batch_size=4,
                        on_progress=lambda done, total, _detail: seen.append((done, total)))
    assert view.status == "completed", view.error
    assert view.total == 3 * (4 + 4 + 1) and view.done == view.total  # 4 open, 4 choice rotations, 1 true/false
    assert seen[-1] == (view.total, view.total)
    models = view.metrics["models"]
    assert models["tuned"]["k"] == models["tuned"]["n"] == 6
    assert models["base"]["k"] < 6 and set(models) == {"base", "rag", "tuned"}
    head = view.metrics["paired"]["tuned_vs_base"]
    assert head["losses"] == 0 and head["wins"] == 6 - models["base"]["k"]
    assert view.config["greedy"] and view.config["max_new_tokens"] == 8 and view.config["models"]["tuned"]["kind"] == "endpoint"
    with svc.db.session() as s:
        results = list(s.scalars(select(EvalResult).where(EvalResult.eval_run_id == view.id)))
        calls = list(s.scalars(select(LLMCall).where(LLMCall.stage == "eval")))
    assert len(results) == view.total
    assert {(r.model_label, r.rotation) for r in results if r.probe_id == results[0].probe_id} <= {(m, 0) for m in ("base", "rag", "tuned")}
    rag = next(r for r in results if r.model_label == "rag" and FACTS[0][0] in r.prompt)
    assert "346 people" in rag.prompt  # BM25 put the chunk that answers it into the prompt
    judged = [r for r in results if r.judge_score is not None]
    assert judged and all(r.model_label in ("base", "rag", "tuned") for r in judged)
    assert all(r.judge_score == 1.0 for r in judged if r.model_label == "tuned")
    assert {c.prompt_name for c in calls} == {"eval_probe", "eval_judge"} and all(c.job_id == view.job_id for c in calls)
    assert sum(1 for c in calls if c.prompt_name == "eval_probe") == 9  # the tuned model's 9 prompts, each asked once
    folder = Path(str(view.report_dir))
    assert (folder / REPORT_MD).is_file() and (folder / "rag" / PREDICTIONS).is_file()
    assert "accuracy_by_document.png" in view.metrics["files"]
    assert svc.get_job(view.job_id).kind == "eval" and svc.list_evals(evalp)[0].id == view.id
    with pytest.raises(Conflict, match="already completed"):
        svc.execute_eval(view.id)


def test_the_judge_must_differ_and_bad_input_names_what_is_wrong(svc: Service, evalp: str, tiny: Path, endpoint: FakeLLM,
                                                               tmp_path: Path) -> None:
    _configs(svc, evalp, endpoint)
    with pytest.raises(UserError, match="judge must differ"):
        svc.evaluate(evalp, str(tiny), "served", judge="served")
    with pytest.raises(NotFound, match="no-such-model"):
        svc.evaluate(evalp, "./no-such-model", "served")
    with pytest.raises(NotFound, match="--tuned"):
        svc.evaluate(evalp, str(tiny), "nothing-here")
    with pytest.raises(NotFound, match="No train run 999"):
        svc.evaluate(evalp, str(tiny), "999")
    with pytest.raises(UserError, match="--max-new-tokens"):
        svc.evaluate(evalp, str(tiny), "served", max_new_tokens=0)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UserError, match="needs a local base model"):
        svc.evaluate(evalp, "served", str(adapter))
    with pytest.raises(NotFound, match="No probe set"):
        svc.evaluate(evalp, str(tiny), "served", probes=["other"])
    svc.create_project("empty")
    with pytest.raises(UserError, match="no probe set"):
        svc.evaluate("empty", str(tiny), str(tiny))
    with pytest.raises(NotFound, match="No evaluation run"):
        svc.get_eval(12345)
    assert svc.list_evals() == []  # nothing refused was recorded


def test_resume_after_a_cancel_never_asks_a_prompt_twice(svc: Service, evalp: str, tiny: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import loreforge.inference as inference
    import loreforge.jobs.control as control

    monkeypatch.setattr(control, "HEARTBEAT_S", 0.1)  # the cancel is seen at once
    real = inference.generate
    asked: list[str] = []

    def counting(model: Any, conversations: Any, **kw: Any) -> Any:  # the real engine, its prompts counted
        asked.extend(c[-1]["content"] for c in conversations)
        return real(model, conversations, **kw)

    monkeypatch.setattr(inference, "generate", counting)

    def cancel_after_two_batches(done: int, _total: int, _detail: dict[str, Any]) -> None:
        if done == 4:
            svc.cancel_eval(svc.list_evals()[0].id)
            time.sleep(0.5)  # the heartbeat thread notices

    first = svc.evaluate(evalp, str(tiny), str(tiny), max_new_tokens=4, batch_size=2, on_progress=cancel_after_two_batches)
    assert first.status == "cancelled" and first.done == 4 and len(asked) == 4
    resumed = svc.execute_eval(first.id)
    assert resumed.status == "completed" and resumed.done == resumed.total == 18
    assert len(asked) == 18  # the 4 stored answers were not asked again
    assert resumed.metrics["models"]["tuned"]["n"] == 6 and resumed.tuned["kind"] == "local"
    assert svc.get_job(first.job_id).status == "completed"


def test_a_killed_worker_process_resumes_without_asking_twice(svc: Service, evalp: str) -> None:
    with FakeLLM(responder=knows, faults=Faults(latency_s=0.15)) as fake:
        _configs(svc, evalp, fake)
        svc.add_model(evalp, "custom", model="base-model", name="base-ep", base_url=fake.base_url, api_key="k", activate=False)
        view = svc.evaluate(evalp, "base-ep", "served", batch_size=2, background=True)
        assert view.status == "queued" and view.log_file
        deadline = time.monotonic() + 60
        while svc.get_eval(view.id).done < 4:
            assert time.monotonic() < deadline, Path(view.log_file).read_text(encoding="utf-8", errors="replace")
            time.sleep(0.05)
        with svc.db.session() as s:
            pid = s.get(Job, view.job_id).pid  # the worker process (it took the job over from its launcher's record)
        os.kill(int(pid or 0), signal.SIGKILL)
        while svc.get_eval(view.id).status in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        killed = svc.get_eval(view.id)
        assert killed.status in ("failed", "interrupted") and killed.done < killed.total
        with svc.db.session() as s:
            stored = len(list(s.scalars(select(EvalResult.id).where(EvalResult.eval_run_id == view.id))))
        before = len(fake.chat_requests())
        resumed = svc.execute_eval(view.id)
        assert resumed.status == "completed" and resumed.done == resumed.total == 18
        assert len(fake.chat_requests()) - before == resumed.total - stored  # only what was not stored
        with svc.db.session() as s:
            assert len(list(s.scalars(select(EvalResult.id).where(EvalResult.eval_run_id == view.id)))) == 18


def test_compare_and_the_shells(svc: Service, evalp: str, tiny: Path, endpoint: FakeLLM, home: Path) -> None:
    from fastapi.testclient import TestClient

    from loreforge.cli import cli
    from loreforge.settings.server import ServerSettings
    from loreforge.web.app import create_app

    _configs(svc, evalp, endpoint)
    first = svc.evaluate(evalp, str(tiny), str(tiny), max_new_tokens=4, batch_size=8)
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", evalp, "--base", str(tiny), "--tuned", "served", "--max-new-tokens", "4", "--json"])
    assert result.exit_code == 0, result.output
    second = json.loads(result.stdout)
    assert second["status"] == "completed" and second["metrics"]["models"]["tuned"]["rate"] == 1.0
    compared = svc.compare_evals(first.id, second["id"])
    row = next(r for r in compared.rows if r["model"] == "tuned" and r["group"] == "all")
    assert row["delta"] == pytest.approx(1.0 - (first.metrics["models"]["tuned"]["rate"] or 0.0))
    assert compared.paired is not None and compared.paired["n"] == 6 and compared.paired["losses"] == 0
    shown = runner.invoke(cli, ["eval", "compare", str(first.id), str(second["id"])])
    assert shown.exit_code == 0 and "tuned of eval" in shown.output
    listed = runner.invoke(cli, ["eval", "list", "--project", evalp])
    assert listed.exit_code == 0 and str(second["id"]) in listed.output
    show = runner.invoke(cli, ["eval", "show", str(second["id"])])
    assert show.exit_code == 0 and "McNemar" in show.output and "report.md" in show.output
    bad = runner.invoke(cli, ["eval", evalp, "--base", "./missing", "--tuned", "served"])
    assert bad.exit_code == 1 and "error:" in bad.output and "Traceback" not in bad.output
    with TestClient(create_app(svc)) as client:
        assert client.get(f"/api/evals/{first.id}").json()["job_id"] == first.job_id
        assert [e["id"] for e in client.get("/api/evals", params={"project": evalp}).json()] == [second["id"], first.id]
        assert client.get(f"/api/evals/{first.id}/compare/{second['id']}").json()["paired"]["n"] == 6
        assert client.get("/api/evals/999").status_code == 404
        assert client.post(f"/api/evals/{first.id}/cancel").status_code == 409
        events = client.get(f"/api/evals/{first.id}/events").text
        assert "event: end" in events and '"kind": "eval"' in events
    settings = ServerSettings.from_env(host="0.0.0.0", allowed_hosts=("lf.example",)).with_token()
    token = {"Authorization": f"Bearer {settings.token.get_secret_value() if settings.token else ''}"}
    with TestClient(create_app(svc, settings), base_url="http://lf.example:8717", headers=token) as served:
        outside = home.parent / "outside"
        refused = served.post(f"/api/projects/{evalp}/eval", json={"base": str(tiny), "tuned": "served", "out": str(outside)})
        assert refused.status_code == 403 and not outside.exists()  # a served API writes reports under the project only
    assert len(svc.list_evals()) == 2


def test_jobs_retry_resumes_an_eval_through_the_kinds_table(svc: Service, evalp: str, tiny: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import loreforge.jobs.control as control

    monkeypatch.setattr(control, "HEARTBEAT_S", 0.1)

    def cancel(done: int, _total: int, _detail: dict[str, Any]) -> None:
        if done == 8:
            svc.cancel_eval(svc.list_evals()[0].id)
            time.sleep(0.5)

    first = svc.evaluate(evalp, str(tiny), str(tiny), max_new_tokens=2, batch_size=8, on_progress=cancel)
    assert first.status == "cancelled" and first.metrics == {}
    job = svc.retry_job(first.job_id)
    assert job.kind == "eval" and job.status == "completed" and job.done == job.total == 18
    assert svc.get_eval(first.id).metrics["models"]["base"]["n"] == 6
    with pytest.raises(Conflict):
        svc.retry_job(first.job_id)  # completed: nothing left to resume


def test_migration_0007_up_down_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    names = inspect(engine)
    assert "eval_results" not in names.get_table_names()
    assert {"status", "model", "adapter"} <= {c["name"] for c in names.get_columns("eval_runs")}
    engine.dispose()
    db = Database(url)
    columns = {c["name"] for c in inspect(db.engine).get_columns("eval_runs")}
    assert {"job_id", "tuned", "probe_set_ids", "report_dir"} <= columns and "status" not in columns
    assert "eval_results" in inspect(db.engine).get_table_names()
    db.dispose()
