"""Benchmark the data modes of issue 15 against Easy Dataset's call patterns, through the fake LLM server (its own
process). Run by hand:

    .venv/bin/python bench/data_modes.py [--corpus DIR] [--dialogues N] [--rounds N]

Prints calls and input characters per row made, LoreForge beside Easy Dataset's pattern, both measured from what the
server received (Easy Dataset's requests are replayed over HTTP through the same provider, their instructions
padded to the length of Easy Dataset 1.7's zh prompts: question 879 + its GA section 170, labelling 1,177,
assistant reply 886, next user message 757 characters):

1. **Genre–audience questions**: 5 pairs per document; LoreForge asks every active pair's questions of a chunk in one
   call (tags in the same call). Easy Dataset makes two calls per chunk and pair — the questions in the pair's
   style, then a labelling call with the tag tree — so two calls per question batch.
2. **Multi-turn dialogues** (3 rounds): LoreForge one call per dialogue; Easy Dataset one call per turn — the
   assistant's reply, then the user's next message — 2N-1 calls, each carrying the chunk and the history so far.

Documents: the financial corpus (../shared/corpus/financial-2024q2) when present, else the example documents that
ship with LoreForge.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from loreforge.service import Service  # noqa: E402
from loreforge.settings import AppConfig  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "financial-2024q2"
ED_QUESTION, ED_GA, ED_LABEL, ED_REPLY, ED_NEXT = 879, 170, 1177, 886, 757  # Easy Dataset 1.7 zh instruction sizes


def server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_llm.py"), "--port", "0", "--responder", "mode_responder:respond"],
                            stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": str(ROOT / "tests"), "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"fake server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def seen(root: str, reset: bool = False) -> list[dict[str, Any]]:
    with urllib.request.urlopen(root + "/_requests") as resp:  # noqa: S310 - loopback only
        out = json.load(resp)
    if reset:
        urllib.request.urlopen(urllib.request.Request(root + "/_reset", method="POST"))  # noqa: S310
    return out


def chars(requests: list[dict[str, Any]]) -> int:
    return sum(sum(len(m["content"]) for m in r["messages"]) for r in requests)


def documents(corpus: Path | None) -> list[Path]:
    folder = corpus or (CORPUS if CORPUS.is_dir() else None)
    if folder is None:
        from loreforge.service.demo import example_documents

        return [p for p in example_documents() if p.suffix == ".md"]
    return sorted(p for p in folder.iterdir() if p.suffix in (".md", ".txt") and p.name != "SOURCE.md")


def replay(root: str, calls: list[str]) -> None:
    """Send Easy Dataset's requests (one user message each) through LoreForge's OpenAI-compatible provider."""
    from loreforge.providers import ProviderConfig, make_provider
    from loreforge.settings.engine import CallDefaults

    async def go() -> None:
        provider = make_provider(ProviderConfig(provider="custom", model="fake-model", base_url=root + "/v1"))
        try:
            for text in calls:
                await provider.complete([{"role": "user", "content": text}], CallDefaults().options())
        finally:
            await provider.aclose()

    asyncio.run(go())


def pad(n: int) -> str:
    return "指" * n  # an instruction of Easy Dataset's length (its wording is not what is measured)


def row(label: str, rows: int, requests: int, characters: int) -> tuple[str, int, float, float]:
    return label, rows, requests / rows, characters / rows


def ga_questions(svc: Service, root: str) -> tuple[list[tuple[str, int, float, float]], Any]:
    svc.generate_ga_pairs("b")
    seen(root, reset=True)
    svc.generate_questions("b")
    ours = seen(root, reset=True)
    questions = [q for q in svc.list_questions("b", page_size=1000).items if q.ga_pair_id]
    chunks = {c.id: c.text for c in svc.list_chunks("b", page_size=1000).items}
    pairs = {p.id: p for p in svc.list_ga_pairs("b")}
    tags = json.dumps([t.model_dump(include={"label"}) for t in svc.show_tags("b")], ensure_ascii=False)
    groups: dict[tuple[int, int], list[str]] = {}
    for q in questions:
        groups.setdefault((q.chunk_id or 0, q.ga_pair_id or 0), []).append(q.text)
    ed: list[str] = []
    for (chunk_id, pair_id), texts in groups.items():
        p = pairs[pair_id]
        ga = pad(ED_GA) + p.genre_title + p.genre_description + p.audience_title + p.audience_description
        ed.append(pad(ED_QUESTION) + ga + chunks[chunk_id] + str(len(texts)))
        ed.append(pad(ED_LABEL) + tags + json.dumps(texts, ensure_ascii=False))
    replay(root, ed)
    theirs = seen(root, reset=True)
    return [row("GA questions: LoreForge", len(questions), len(ours), chars(ours)),
            row("GA questions: Easy Dataset", len(questions), len(theirs), chars(theirs))], questions


def dialogues(svc: Service, root: str, question_ids: list[int], rounds: int) -> list[tuple[str, int, float, float]]:
    svc.generate_dialogues("b", question_ids=question_ids, rounds=rounds, scenario="投资者交流", user_role="投资者", assistant_role="分析师")
    ours = seen(root, reset=True)
    items = svc.list_dataset("b", page_size=1000).items
    chunks = {c.id: c.text for c in svc.list_chunks("b", page_size=1000).items}
    ed: list[str] = []
    for item in items:
        turns = [*(item.history or []), [item.question, item.answer]]
        setting = "投资者交流投资者分析师"
        for r, (user, answer) in enumerate(turns):
            history = "".join(f"投资者: {u}\n分析师: {a}\n" for u, a in turns[:r]) + f"投资者: {user}\n"
            ed.append(pad(ED_REPLY) + setting + chunks.get(item.chunk_id or 0, "") + history + f"{r + 1}/{len(turns)}")
            if r + 1 < len(turns):
                ed.append(pad(ED_NEXT) + setting + chunks.get(item.chunk_id or 0, "") + history + f"分析师: {answer}\n")
    replay(root, ed)
    theirs = seen(root, reset=True)
    return [row(f"{rounds}-round dialogues: LoreForge", len(items), len(ours), chars(ours)),
            row(f"{rounds}-round dialogues: Easy Dataset", len(items), len(theirs), chars(theirs))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, help="a folder of .md/.txt documents (default: the financial corpus, else the examples)")
    ap.add_argument("--dialogues", type=int, default=20, help="dialogues to make (from the first questions)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    proc, root = server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            svc = Service(AppConfig.from_env(tmp))
            svc.create_project("b")
            for key, value in {"split.min_length": 800, "split.max_length": 1500, "llm.concurrency": 8}.items():
                svc.set_setting("b", key, value)
            svc.ingest("b", documents(args.corpus))
            svc.add_model("b", "custom", "fake-model", name="fake", base_url=root + "/v1")
            table, questions = ga_questions(svc, root)
            table += dialogues(svc, root, [q.id for q in questions[: args.dialogues]], args.rounds)
            svc.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"{'':38} {'rows':>6} {'calls/row':>10} {'input chars/row':>16}")
    for label, rows, calls, characters in table:
        print(f"{label:38} {rows:6d} {calls:10.3f} {characters:16,.0f}")
    for ours, theirs in zip(table[::2], table[1::2], strict=True):
        print(f"{ours[0].split(':')[0]}: {theirs[2] / ours[2]:.1f}x fewer calls, {theirs[3] / ours[3]:.1f}x fewer input characters")


if __name__ == "__main__":
    main()
