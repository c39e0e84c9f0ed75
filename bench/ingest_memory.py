"""Benchmark: ingest (convert + store + split) a 100 MB Markdown file and report peak memory.

Target (issue 2): peak RSS under 1.5 GB. The file is the financial corpus in ../shared/corpus repeated to the
requested size, written to a temporary folder; the ingest runs in a fresh subprocess so that its peak RSS
(ru_maxrss) is its own. Run by hand:

    .venv/bin/python bench/ingest_memory.py [--size-mb 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "financial-2024q2"
TARGET_MB = 1500

CHILD = r"""
import json, resource, sys, time
from loreforge.service import Service
from loreforge.settings import AppConfig
home, path = sys.argv[1], sys.argv[2]
svc = Service(AppConfig.from_env(home))
svc.create_project("bench")
t0 = time.perf_counter()
report = svc.ingest("bench", [path])
elapsed = time.perf_counter() - t0
item = report.items[0]
print(json.dumps({"status": item.status, "error": item.error, "chunks": item.chunks, "seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_file(folder: Path, size_mb: float) -> Path:
    parts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.iterdir()) if p.suffix in (".md", ".txt")]
    block = "\n\n".join(f"# 第{i}部分\n\n{text}" for i, text in enumerate(parts))
    target = int(size_mb * 1024 * 1024)
    path = folder / "big.md"
    written = 0
    with path.open("w", encoding="utf-8") as out:
        n = 0
        while written < target:
            piece = f"\n\n# 副本 {n}\n\n{block}"
            out.write(piece)
            written += len(piece.encode("utf-8"))
            n += 1
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=100.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = build_file(folder, args.size_mb)
        size = path.stat().st_size / 1048576
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder / "home"), str(path)], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            sys.exit(out.stderr)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"file: {size:.1f} MB Markdown; status {result['status']} {result['error'] or ''}")
        print(f"chunks: {result['chunks']}; ingest time {result['seconds']:.1f} s (wall incl. start-up {time.perf_counter() - t0:.1f} s)")
        peak = result["peak_rss_mb"]
        print(f"peak RSS: {peak:.0f} MB (target < {TARGET_MB} MB: {'OK' if peak < TARGET_MB else 'OVER'}; ratio {peak / TARGET_MB:.2f})")


if __name__ == "__main__":
    main()
