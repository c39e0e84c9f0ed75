"""Benchmark: peak memory and time of streaming exports of 300,000 synthetic Chinese QA pairs.

Each scenario runs in its own subprocess (so its peak RSS is its own, read with resource.getrusage
ru_maxrss) and exports pairs generated on the fly by a `pairs_factory`, as the service layer streams them
from the store: alpaca JSON, OpenAI messages JSONL, and the LLaMA Factory bundle with val_size 0.1
(optionally Parquet too). Prints time, items/s, output size, peak RSS and its ratio to the 500 MB target.

Run by hand: `.venv/bin/python bench/export.py [--items 300000] [--parquet]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from loreforge.records import QAPair

TARGET_MB = 500.0
PHRASES = [
    "公司第二季度营业收入同比增长",
    "毛利率较上年同期提升",
    "主要得益于产品结构优化",
    "海外市场收入占比持续提高",
    "研发投入占营业收入的比例",
    "经营活动产生的现金流量净额",
    "原材料价格波动对成本的影响",
    "管理层预计下半年需求回暖",
    "应收账款周转天数有所下降",
    "归属于上市公司股东的净利润",
    "新产品线贡献了主要增量",
    "费用率控制在合理区间",
]


def synthetic_pairs(n: int) -> Iterator[QAPair]:
    """n deterministic pairs: ~30-character questions, ~200-character answers, 8 tags, 5 pairs per chunk."""
    tags = ["财务", "研发", "市场", "人事", "风险", "战略", "运营", "其他"]
    for i in range(n):
        answer = "，".join(PHRASES[(i + k * 7) % len(PHRASES)] for k in range(15))[:200] + f"（编号{i}）。"
        yield QAPair(
            id=i + 1,
            question=f"关于第{i}项：{PHRASES[i % len(PHRASES)]}的具体数值是多少？",
            answer=answer,
            cot=PHRASES[(i * 3) % len(PHRASES)] + "，见原文。" if i % 2 else "",
            tag=tags[i % len(tags)],
            chunk_id=i // 5,
            document_id=i // 500,
            confirmed=True,
        )


def run_scenario(name: str, items: int, out_dir: Path) -> dict[str, object]:
    """In the child: run one export and report its figures."""
    from loreforge.export import export_dataset, export_llamafactory, make_options

    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()

    def factory() -> Iterator[QAPair]:
        return synthetic_pairs(items)

    if name == "alpaca-json":
        result = export_dataset(factory, out_dir, make_options(format="alpaca", cot="think"))
    elif name == "messages-jsonl":
        options = make_options(format="messages", file_type="jsonl", system_prompt="你是财务分析助手。")
        result = export_dataset(factory, out_dir, options)
    elif name == "parquet":
        result = export_dataset(factory, out_dir, make_options(format="alpaca", file_type="parquet"))
    else:
        options = make_options(format="alpaca", cot="think", val_size=0.1)
        result = export_llamafactory(factory, out_dir, options, name="bench")
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return {
        "scenario": name,
        "counts": result.counts,
        "seconds": round(seconds, 2),
        "items_per_s": round(items / seconds),
        "output_mb": round(size / 1e6, 1),
        "baseline_rss_mb": round(base_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--parquet", action="store_true", help="also export Parquet (needs pyarrow)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_scenario(args.child, args.items, Path(args.out))))
        return
    scenarios = ["alpaca-json", "messages-jsonl", "llamafactory-val0.1"] + (["parquet"] if args.parquet else [])
    print(f"export benchmark: {args.items:,} pairs, target peak RSS < {TARGET_MB:.0f} MB")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenarios:
            cmd = [sys.executable, __file__, "--child", name, "--items", str(args.items), "--out", f"{tmp}/{name}"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed:\n{proc.stderr}")
            fig = json.loads(proc.stdout.strip().splitlines()[-1])
            worst = max(worst, fig["peak_rss_mb"])
            print(
                f"{name:22s} {fig['seconds']:7.1f} s  {fig['items_per_s']:>7,} items/s  "
                f"{fig['output_mb']:7.1f} MB out  "
                f"peak RSS {fig['peak_rss_mb']:6.1f} MB (baseline {fig['baseline_rss_mb']:.0f})  "
                f"ratio to target {fig['peak_rss_mb'] / TARGET_MB:.2f}  counts {fig['counts']}"
            )
    print(f"worst peak RSS {worst:.1f} MB = {worst / TARGET_MB:.2f} x target ({'OK' if worst < TARGET_MB else 'OVER'})")


if __name__ == "__main__":
    main()
