"""Benchmark: markdown splitting throughput and quality, LoreForge vs langchain-text-splitters.

Builds a ~N MB Markdown document from the earnings reports in /work/shared/corpus/financial-2024q2 (concatenated
and repeated), splits it with LoreForge's `markdown` strategy and with langchain's MarkdownHeaderTextSplitter
(strip_headers=False) + RecursiveCharacterTextSplitter (chunk_size = max_length, overlap 0), and prints for
both: MB/s, chunks, coverage (share of the document's non-whitespace characters found, in order, in the
chunks), chunks over max_length and under min_length, and the throughput ratio ours/langchain.

Run by hand: `.venv/bin/python bench/split.py [--size-mb 20] [--min 800] [--max 1500] [--all-strategies]`.
"""

from __future__ import annotations

import argparse
import re
import resource
import time
from pathlib import Path
from typing import Callable

from loreforge.chunk import split_text
from loreforge.settings import SPLIT_STRATEGIES, SplitSettings

CORPUS = Path("/work/shared/corpus/financial-2024q2")
_WS = re.compile(r"\s+")


def build_document(size_mb: float) -> str:
    files = sorted(p for p in CORPUS.glob("*") if p.suffix in (".md", ".txt") and p.name != "SOURCE.md")
    if not files:
        raise SystemExit(f"No corpus files under {CORPUS}")
    one = "\n\n".join(p.read_text(encoding="utf-8") for p in files)
    copies = max(1, round(size_mb * 1e6 / len(one.encode("utf-8"))))
    return "\n\n".join([one] * copies)


def coverage(doc: str, chunks: list[str]) -> float:
    """Share of the document's non-whitespace characters present, in order, in the chunks."""
    target = _WS.sub("", doc)
    pos = covered = 0
    for chunk in chunks:
        pieces = [_WS.sub("", chunk)]
        found = target.find(pieces[0], pos) if pieces[0] else -1
        if found < 0:  # the splitter changed the chunk: match its lines one by one
            pieces = [p for p in (_WS.sub("", line) for line in chunk.splitlines()) if p]
        for piece in pieces:
            found = target.find(piece, pos)
            if found >= 0:
                covered += len(piece)
                pos = found + len(piece)
    return covered / max(len(target), 1)


def ours(doc: str, settings: SplitSettings) -> list[str]:
    return [c.text[len(c.carried) + c.overlap :] for c in split_text(doc, settings).chunks]


def langchain(doc: str, min_len: int, max_len: int) -> list[str]:
    from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

    headers = [("#" * i, f"h{i}") for i in range(1, 7)]
    sections = MarkdownHeaderTextSplitter(headers_to_split_on=headers, strip_headers=False).split_text(doc)
    splitter = RecursiveCharacterTextSplitter(chunk_size=max_len, chunk_overlap=0)
    return [d.page_content for d in splitter.split_documents(sections)]


def measure(name: str, run: Callable[[], list[str]], doc: str, min_len: int, max_len: int) -> dict[str, float]:
    started = time.perf_counter()
    chunks = run()
    elapsed = time.perf_counter() - started
    megabytes = len(doc.encode("utf-8")) / 1e6
    row = {
        "mb_s": megabytes / elapsed,
        "seconds": elapsed,
        "chunks": len(chunks),
        "coverage": coverage(doc, chunks),
        "over_max": sum(len(c) > max_len for c in chunks),
        "under_min": sum(len(c) < min_len for c in chunks),
    }
    print(
        f"{name:<28} {row['mb_s']:8.2f} MB/s {elapsed:7.2f} s {row['chunks']:8d} chunks "
        f"coverage {row['coverage'] * 100:7.3f}%  over max {row['over_max']:6d}  under min {row['under_min']:6d}"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20.0, help="size of the test document (UTF-8 MB)")
    parser.add_argument("--min", type=int, default=800, help="min_length")
    parser.add_argument("--max", type=int, default=1500, help="max_length")
    parser.add_argument("--all-strategies", action="store_true", help="also time the other LoreForge strategies")
    args = parser.parse_args()
    doc = build_document(args.size_mb)
    print(f"document: {len(doc.encode('utf-8')) / 1e6:.1f} MB UTF-8, {len(doc):,} characters; "
          f"min {args.min}, max {args.max}")
    settings = SplitSettings(strategy="markdown", min_length=args.min, max_length=args.max)
    mine = measure("loreforge markdown", lambda: ours(doc, settings), doc, args.min, args.max)
    theirs = measure(
        "langchain md-header+recursive", lambda: langchain(doc, args.min, args.max), doc, args.min, args.max
    )
    print(f"throughput ratio ours/langchain: {mine['mb_s'] / theirs['mb_s']:.2f}x")
    if args.all_strategies:
        for strategy in SPLIT_STRATEGIES:
            if strategy != "markdown":
                other = settings.model_copy(update={"strategy": strategy, "chunk_size": args.max})
                measure(f"loreforge {strategy}", lambda: ours(doc, other), doc, args.min, args.max)
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
