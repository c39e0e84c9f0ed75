"""Benchmark: web UI part 2's heavy pages at scale — a run with a long curve, an evaluation with many probes, a
blind test with many votes, many runs.

Seeds a fresh store: 200 train runs (one of them with a 20,000-record `trainer_log.jsonl`, a 20 MB console log and 50
checkpoint folders), one evaluation run over 2,000 probes answered by base, RAG and tuned (6,000 results), a blind
test with 1,000 voted rounds; then times each page as a browser gets it — the whole HTML through the app in process
(routing, the service calls, the files, the database, the templates) — and the run page's follow-up read (what its
event stream does every second). Prints the median of a few runs and its ratio to the 300 ms target.

Run by hand: `.venv/bin/python bench/ui_model.py [--points 20000] [--probes 2000] [--votes 1000] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MS = 300.0


def _run_folder(folder: Path, points: int) -> None:
    """A run's output folder as the trainer leaves it: the curve, a long console log, checkpoints."""
    folder.mkdir(parents=True)
    rng = random.Random(3)
    with (folder / "trainer_log.jsonl").open("w", encoding="utf-8") as f:
        for step in range(1, points + 1):
            record = {"current_steps": step, "total_steps": points, "loss": 3 * 0.9999 ** step + rng.random() * 0.1,
                      "lr": 1e-4 * (1 - step / points), "epoch": step / 1000, "percentage": round(step / points * 100, 2),
                      "elapsed_time": "0:10:00", "remaining_time": "0:01:00", "throughput": 4000.0, "total_tokens": step * 512}
            f.write(json.dumps(record) + "\n")
            if step % 500 == 0:
                f.write(json.dumps({"current_steps": step, "total_steps": points, "eval_loss": 2.5 * 0.9999 ** step}) + "\n")
    line = "{'loss': '1.234', 'grad_norm': '0.5', 'learning_rate': '1e-4', 'epoch': '1.0'}\n"
    (folder / "running_log.txt").write_text("input_ids:\n[1, 2]\ninputs:\nq a\nlabel_ids:\n[-100, 2]\nlabels:\n[-100 x 1]a\n"
                                            "train examples: 9, eval examples: 1\n" + line * (20_000_000 // len(line)), encoding="utf-8")
    for step in range(400, points + 1, 400):
        checkpoint = folder / f"checkpoint-{step}"
        checkpoint.mkdir()
        (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
        (checkpoint / "adapter_model.bin").write_bytes(b"0" * 1024)


def seed(home: Path, points: int, probes: int, votes: int) -> dict[str, int]:
    from sqlalchemy import insert

    from loreforge.service import Service
    from loreforge.settings import AppConfig
    from loreforge.store.models import ArenaRound, ArenaTest, EvalResult, EvalRun, Job, Probe, ProbeSet, TrainRun, utcnow

    s = Service(AppConfig.from_env(home))
    project = s.create_project("bench").id
    rng = random.Random(5)
    folder = home / "runs" / "long"
    _run_folder(folder, points)
    with s.db.session() as session:
        for n in range(200):
            job = Job(project_id=project, kind="train", status="completed", params={}, total=100, done=100, progress={})
            session.add(TrainRun(project_id=project, job=job, name=f"run-{n}", base_model="Qwen/Qwen2.5-3B-Instruct",
                                 finetuning_type="lora", config={"learning_rate": 1e-4, "output_dir": str(folder)},
                                 metrics={"train_loss": 1.0, "eval_loss": 1.1, "global_step": points},
                                 output_dir=str(folder) if n == 199 else str(home / "runs" / f"r{n}")))
        probe_set = ProbeSet(project_id=project, name="p", kinds=["held_out", "key_fact", "general"], language="en", params={},
                             counts={"built": probes})
        session.add(probe_set)
        session.flush()
        kinds = ("held_out", "key_fact", "general")
        session.execute(insert(Probe), [dict(probe_set_id=probe_set.id, position=i, kind=kinds[i % 3], qtype="open",
                                             question=f"What is fact {i}?", reference=f"Fact {i} is {i * 7}.", key=str(i * 7),
                                             tag=f"tag {i % 40}", provenance={}) for i in range(probes)])
        probe_ids = [p for p, in session.execute(Probe.__table__.select().with_only_columns(Probe.id))]
        job = Job(project_id=project, kind="eval", status="completed", params={}, total=probes * 3, done=probes * 3, progress={})
        run = EvalRun(project_id=project, job=job, name="bench", base_model="base", tuned={"kind": "local", "name": "tuned"},
                      probe_set_ids=[probe_set.id], metrics={}, config={
                          "max_new_tokens": 64, "batch_size": 16, "temperature": 0.0, "rag": True, "rag_k": 3, "top_examples": 20,
                          "models": {"base": {"kind": "local", "ref": "b", "name": "base"}, "tuned": {"kind": "local", "ref": "t", "name": "tuned"}}})
        session.add(run)
        session.flush()
        rows = [dict(eval_run_id=run.id, probe_id=p, model_label=label, rotation=0, prompt="q", answer=f"answer {rng.random():.3f}",
                     correct=rng.random() < {"base": 0.2, "rag": 0.5, "tuned": 0.7}[label], rouge={"rouge-l": rng.random() * 100},
                     created_at=utcnow()) for p in probe_ids for label in ("base", "rag", "tuned")]
        session.execute(insert(EvalResult), rows)
        arena = ArenaTest(project_id=project, name="bench", probe_set_ids=[probe_set.id], config={"seed": 1, "size": votes, "max_new_tokens": 8},
                          models={"a": {"kind": "local", "name": "base", "base": "b"}, "b": {"kind": "local", "name": "tuned", "base": "t"}})
        session.add(arena)
        session.flush()
        session.execute(insert(ArenaRound), [dict(arena_id=arena.id, probe_id=p, position=n + 1, question="q", reference="r",
                                                  shown_left=rng.choice("ab"), answer_a="x", answer_b="y", meta={}, vote="left",
                                                  winner=rng.choice(("a", "b", "both_good", "both_bad")), created_at=utcnow())
                                             for n, p in enumerate(probe_ids[:votes])])
        ids = {"run": session.query(TrainRun.id).filter(TrainRun.name == "run-199").scalar(), "eval": run.id, "arena": arena.id}
        run.report_dir = str(home / "report")
    from loreforge.service.eval_report import summary_from_store

    (home / "report").mkdir()  # what a completed run leaves: report.json with the summary (and every answer)
    results = [{"probe_id": r["probe_id"], "answer": r["answer"]} for r in rows]
    (home / "report" / "report.json").write_text(json.dumps({"summary": summary_from_store(s, ids["eval"]), "results": results}),
                                                 encoding="utf-8")
    s.close()
    return ids


def timed(call: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--probes", type=int, default=2_000)
    parser.add_argument("--votes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from loreforge.service import Service
    from loreforge.service.eval_report import summary_from_store
    from loreforge.settings import AppConfig
    from loreforge.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        ids = seed(home, args.points, args.probes, args.votes)
        svc = Service(AppConfig.from_env(home))
        client = TestClient(create_app(svc))
        detail = svc.inspect_run(ids["run"], log_lines=0)

        def page(url: str) -> Any:
            return lambda: client.get(url).raise_for_status()

        cases = [
            (f"runs list (200 runs)", page("/ui/runs")),
            (f"one run, {args.points:,}-point curve, 20 MB log", page(f"/ui/runs/{ids['run']}")),
            ("the run's follow-up read (each second while live)", lambda: svc.inspect_run(ids["run"], detail.point_count, detail.log_offset, 0)),
            ("two runs compared", page(f"/ui/runs/compare?a={ids['run']}&b={ids['run'] - 1}")),
            (f"evaluation report, {args.probes:,} probes x 3 models", page(f"/ui/evals/{ids['eval']}")),
            ("evaluation report as JSON", page(f"/api/evals/{ids['eval']}/report")),
            ("the report computed from the store (a run answering)", lambda: summary_from_store(svc, ids["eval"])),
            ("evaluations of the project", page("/ui/p/bench/eval")),
            (f"blind test, {args.votes:,} votes", page(f"/ui/arena/{ids['arena']}")),
            ("blind tests of the project", page("/ui/p/bench/arena")),
        ]
        print(f"\n{'page':<52} {'median ms':>10} {'/ 300 ms':>9}")
        for name, call in cases:
            ms = timed(call, args.runs)
            print(f"{name:<52} {ms:>10.1f} {ms / TARGET_MS:>9.2f}")
        svc.close()


if __name__ == "__main__":
    main()
