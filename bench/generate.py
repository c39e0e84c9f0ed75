"""Benchmark the generation stages against the fake LLM server (its own process). Run by hand:

    .venv/bin/python bench/generate.py [--skip-concurrency] [--skip-faults]

1. Input per finished QA pair on the financial corpus (../shared/corpus/financial-2024q2) split at min 800 /
   max 1500 characters, 240 characters per question: LoreForge's real requests (questions + batched answers,
   measured from what the server received) side by side with an Easy Dataset-style call pattern computed on
   the same chunks and questions — one question call + one labelling call per chunk, then one answer call per
   question, each carrying the chunk, with Easy Dataset's zh instruction sizes (879, 1,177 and 592
   characters). Target: ≤ 0.4× in batched mode. Per-question mode is shown too.
2. Fault mix: questions and answers jobs with 10% 500s, 10% 429s and 5% malformed replies; checks that every
   item ends done or listed as failed, and that no question or answer is stored twice.
3. Concurrency efficiency and client CPU per call: runs bench/generate_concurrency.py (limit 64, 2,000 calls,
   200 ms ± 50 ms).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from loreforge.providers import estimate_tokens  # noqa: E402
from loreforge.service import Service  # noqa: E402
from loreforge.settings import AppConfig  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "financial-2024q2"
ED_QUESTION, ED_LABEL, ED_ANSWER = 879, 1177, 592  # Easy Dataset zh template instruction sizes (characters)
TARGET = 0.4


def server(*args: str) -> tuple[subprocess.Popen[str], str]:
    env_path = str(ROOT / "tests")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fake_llm.py"), "--port", "0", "--responder", "qa_responder:respond", *args],
        stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"fake server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def project(home: Path, base_url: str, mode: str) -> Service:
    svc = Service(AppConfig.from_env(home))
    svc.create_project("fin")
    for key, value in {"split.min_length": 800, "split.max_length": 1500, "questions.chars_per_question": 240,
                       "llm.concurrency": 16, "answers.mode": mode}.items():
        svc.set_setting("fin", key, value)
    svc.ingest("fin", sorted(p for p in CORPUS.iterdir() if p.suffix in (".md", ".txt") and p.name != "SOURCE.md"))
    svc.add_model("fin", "custom", "fake-model", name="fake", base_url=base_url + "/v1")
    return svc


def requests_seen(root: str) -> list[dict]:
    with urllib.request.urlopen(root + "/_requests") as resp:  # noqa: S310 - loopback only
        return json.load(resp)


def efficiency(mode: str) -> None:
    proc, root = server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            svc = project(Path(tmp), root, mode)
            svc.generate_questions("fin")
            svc.generate_answers("fin")
            reqs = requests_seen(root)
            ours_chars = sum(sum(len(m["content"]) for m in r["messages"]) for r in reqs)
            ours_tokens = sum(sum(estimate_tokens(m["content"]) for m in r["messages"]) for r in reqs)
            chunks = {c.id: c.text for c in svc.list_chunks("fin", page_size=1000).items}
            questions = svc.list_questions("fin", page_size=1000).items
            pairs = svc.list_answers("fin", page_size=1000).total
            ed_chars = ed_tokens = 0
            for cid, text in chunks.items():
                qs = [q.text for q in questions if q.chunk_id == cid]
                calls = [("x" * ED_QUESTION) + text, ("x" * ED_LABEL) + "".join(qs)]
                calls += [("x" * ED_ANSWER) + text + q for q in qs]
                ed_chars += sum(len(c) for c in calls)
                ed_tokens += sum(estimate_tokens(c.replace("x", "说")) for c in calls)  # instructions are Chinese
            print(f"[{mode}] {len(chunks)} chunks, {len(questions)} questions, {pairs} QA pairs, {len(reqs)} requests")
            print(f"  LoreForge:          {ours_chars / pairs:8.0f} chars / pair   {ours_tokens / pairs:8.0f} tokens / pair")
            print(f"  Easy Dataset-style: {ed_chars / pairs:8.0f} chars / pair   {ed_tokens / pairs:8.0f} tokens / pair")
            ratio = ours_chars / ed_chars
            verdict = f"(target ≤ {TARGET}: {'OK' if ratio <= TARGET else 'MISSED'})" if mode == "batched" else ""
            print(f"  ratio: {ratio:.2f}× chars, {ours_tokens / ed_tokens:.2f}× tokens {verdict}")
            svc.close()
    finally:
        proc.terminate()
        proc.wait(10)


def faults() -> None:
    proc, root = server("--p500", "0.1", "--p429", "0.1", "--malformed", "0.05", "--retry-after", "0.2", "--seed", "7")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            svc = project(Path(tmp), root, "batched")
            for name, job in (("questions", svc.generate_questions("fin")), ("answers", svc.generate_answers("fin"))):
                accounted = job.done + job.failed
                print(f"[faults] {name}: {job.total} items → {job.done} done, {job.failed} failed "
                      f"({100 * accounted / max(job.total, 1):.0f}% accounted for); status {job.status}")
            with svc.db.session() as s:
                from sqlalchemy import func, select

                from loreforge.store.models import DatasetItem, Question

                dup_q = s.execute(select(Question.chunk_id, Question.text, func.count()).group_by(Question.chunk_id, Question.text).having(func.count() > 1)).all()
                dup_a = s.execute(select(DatasetItem.question_id, func.count()).group_by(DatasetItem.question_id).having(func.count() > 1)).all()
            print(f"[faults] duplicated questions: {len(dup_q)}, questions answered twice: {len(dup_a)}")
            svc.close()
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-concurrency", action="store_true")
    ap.add_argument("--skip-faults", action="store_true")
    args = ap.parse_args()
    efficiency("batched")
    efficiency("per-question")
    if not args.skip_faults:
        faults()
    if not args.skip_concurrency:
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate_concurrency.py"), "--skip-faults"], check=False)


if __name__ == "__main__":
    main()
