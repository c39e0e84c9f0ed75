"""Benchmark: the web UI's list pages at scale — 50,000 chunks, 100,000 questions, 100,000 dataset items.

Seeds one project straight into a fresh store (bulk inserts: 50 documents, a two-level tag tree of 48 tags,
questions tagged and answered, dataset items with scores, stars, grounding results and confirmations spread
over them), then times each page as a browser gets it — the whole HTML through the app in process (routing,
the service calls, the database, the templates): the first page and a deep page of each list, the filters, the
question tag tree, the review page of one item, and a select-all batch action (confirm every item matching a
filter, then unconfirm them). Prints the median of a few runs per page and its ratio to the 300 ms target.

Run by hand: `.venv/bin/python bench/ui.py [--chunks 50000] [--questions 100000] [--items 100000] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MS = 300.0
WORDS = ["营业收入", "同比增长", "毛利率", "海外市场", "研发投入", "净利润", "revenue", "margin", "service", "robot",
         "warranty", "battery", "2025年上半年", "12.5%", "3.2亿元", "客户", "交付", "产能"]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def seed(home: Path, chunks: int, questions: int, items: int) -> str:
    """One project `bench` holding the given numbers of rows; returns its name."""
    from sqlalchemy import insert

    from loreforge.service import Service
    from loreforge.settings import AppConfig
    from loreforge.store.models import Chunk, DatasetItem, Document, Question, Tag

    s = Service(AppConfig.from_env(home))
    project = s.create_project("bench").id
    rng = random.Random(7)
    with s.db.session() as session:
        docs = [dict(project_id=project, filename=f"report-{i}.md", stored_path=f"d/{i}", markdown_path=f"d/{i}.md", format="md",
                     content_hash=f"{i:064d}", text_hash=f"{i:064x}", size_bytes=1000, char_count=1000) for i in range(50)]
        session.execute(insert(Document), docs)
        roots = [Tag(project_id=project, label=f"领域 {i}", ordinal=i) for i in range(8)]
        session.add_all(roots)
        session.flush()
        leaves = [Tag(project_id=project, label=f"主题 {r.id}-{j}", parent_id=r.id, ordinal=j) for r in roots for j in range(5)]
        session.add_all(leaves)
        session.flush()
        tag_ids = [t.id for t in roots + leaves]
        labels = {t.id: t.label for t in roots + leaves}
        doc_ids = [d for d, in session.execute(Document.__table__.select().with_only_columns(Document.id))]
    _bulk(s, Chunk, ({"project_id": project, "document_id": doc_ids[i % len(doc_ids)], "ordinal": i // len(doc_ids),
                       "text": _text(rng, rng.randint(20, 120)), "start": 0, "end": 1, "heading_path": "第一章 > 经营情况",
                       "size": rng.randint(200, 1500), "text_hash": f"{i:064x}"} for i in range(chunks)))
    chunk_ids = _ids(s, Chunk)
    _bulk(s, Question, ({"project_id": project, "chunk_id": chunk_ids[i % len(chunk_ids)], "tag_id": rng.choice(tag_ids + [None]),
                         "text": f"问题 {i}：{_text(rng, 6)}？", "norm_text": f"q{i}", "answered": i < items} for i in range(questions)))
    question_ids = _ids(s, Question)
    _bulk(s, DatasetItem, ({"project_id": project, "question_id": question_ids[i], "chunk_id": chunk_ids[i % len(chunk_ids)],
                            "question": f"问题 {i}？", "answer": _text(rng, 30), "cot": "" if i % 3 else _text(rng, 10),
                            "tag": labels[tag_ids[i % len(tag_ids)]], "confirmed": i % 4 == 0, "rating": i % 6 if i % 2 else None,
                            "score": round(rng.uniform(0, 5), 1) if i % 5 else None, "grounding": {"ok": i % 7 != 0},
                            "grounding_ok": i % 7 != 0, "labels": []} for i in range(items)))
    s.close()
    return "bench"


def _bulk(s: Any, model: Any, rows: Any, batch: int = 5000) -> None:
    from sqlalchemy import insert

    chunk: list[dict[str, Any]] = []
    with s.db.session() as session:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                session.execute(insert(model), chunk)
                chunk = []
        if chunk:
            session.execute(insert(model), chunk)


def _ids(s: Any, model: Any) -> list[int]:
    from sqlalchemy import select

    with s.db.session() as session:
        return list(session.scalars(select(model.id).order_by(model.id)))


def timed(call: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, (response.status_code, response.text[:300])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from loreforge.service import Service
    from loreforge.settings import AppConfig
    from loreforge.web.app import create_app

    home = Path(tempfile.mkdtemp(prefix="lf-bench-ui-"))
    start = time.perf_counter()
    name = seed(home, args.chunks, args.questions, args.items)
    print(f"seeded {args.chunks:,} chunks, {args.questions:,} questions, {args.items:,} dataset items in "
          f"{time.perf_counter() - start:.1f} s ({home})")
    client = TestClient(create_app(Service(AppConfig.from_env(home))))
    p = f"/ui/p/{name}"
    deep = lambda n: max(1, n // 50 // 2)  # noqa: E731 - the middle page of a list at 50 per page
    pages = [
        ("projects", "/ui"),
        ("documents", f"{p}/documents"),
        ("chunks, page 1", f"{p}/chunks"),
        ("chunks, middle page", f"{p}/chunks?page={deep(args.chunks)}"),
        ("chunks, search", f"{p}/chunks?text=warranty"),
        ("chunks, length 500-800 with questions", f"{p}/chunks?min_size=500&max_size=800&has_questions=true"),
        ("chunks, one document", f"{p}/chunks?document_id=3"),
        ("questions, page 1", f"{p}/questions"),
        ("questions, middle page", f"{p}/questions?page={deep(args.questions)}"),
        ("questions, unanswered", f"{p}/questions?answered=false"),
        ("questions, tag tree", f"{p}/questions?view=tree"),
        ("questions, tag tree: one tag", f"{p}/questions?view=tree&tag=领域 3"),
        ("questions, search", f"{p}/questions?text=robot"),
        ("dataset, page 1", f"{p}/dataset"),
        ("dataset, middle page", f"{p}/dataset?page={deep(args.items)}"),
        ("dataset, grounding failed", f"{p}/dataset?grounding_failed=true"),
        ("dataset, unconfirmed, score 3-5, stars >= 3", f"{p}/dataset?confirmed=false&min_score=3&max_score=5&min_rating=3"),
        ("dataset, tag + CoT", f"{p}/dataset?tag=领域 2&has_cot=true"),
        ("dataset, sorted by score", f"{p}/dataset?sort=-score"),
        ("dataset, search", f"{p}/dataset?text=battery"),
        ("dataset, one document", f"{p}/dataset?document_id=3"),
        ("review page of one item", f"{p}/dataset/500?pos=500"),
        ("usage", f"{p}/usage"),
        ("jobs", f"{p}/jobs"),
        # the More data pages (the seed holds no dialogues, pairs or cleanings: these time the counts and filters)
        ("more data", f"{p}/modes"),
        ("dialogues", f"{p}/dialogues"),
        ("cleaning: cleaned chunks", f"{p}/cleaning"),
        ("dataset, dialogues", f"{p}/dataset?kind=dialogue"),
        ("dataset, genre–audience pairs", f"{p}/dataset?ga=true"),
        ("dataset, sourced, no images", f"{p}/dataset?distilled=false&images=false"),
    ]
    print(f"\n{'page':<48} {'median ms':>10} {'/ 300 ms':>9}")
    worst = 0.0
    for label, url in pages:
        ms = timed(lambda: client.get(url), args.runs)
        worst = max(worst, ms)
        print(f"{label:<48} {ms:>10.1f} {ms / TARGET_MS:>9.2f}")
    headers = {"HX-Request": "true"}
    batch = {"action": "confirm", "all": "1", "f_grounding_failed": "false", "f_confirmed": "false"}
    undo = {"action": "unconfirm", "all": "1", "f_grounding_failed": "false"}
    for label, form in (("select all matching → confirm (~64,000 items)", batch), ("select all matching → unconfirm (~86,000)", undo)):
        ms = timed(lambda: client.post(f"{p}/dataset/batch", data=form, headers=headers), 1)
        worst = max(worst, ms)
        print(f"{label:<48} {ms:>10.1f} {ms / TARGET_MS:>9.2f}")
    print(f"\nslowest: {worst:.1f} ms = {worst / TARGET_MS:.2f} of the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
