"""Benchmark: how long `loreforge --help` takes (target: under 0.5 s; nothing heavy imported at start-up).

    .venv/bin/python bench/cli_startup.py [--runs 10]

Prints the median and worst wall time of the console script, and the same for a bare `python -c pass` as the
baseline the interpreter itself costs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.5


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    exe = str(Path(sys.executable).parent / "loreforge")
    help_t = timed([exe, "--help"], args.runs)
    base_t = timed([sys.executable, "-c", "pass"], args.runs)
    med, worst, base = statistics.median(help_t), max(help_t), statistics.median(base_t)
    print(f"loreforge --help: median {med * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
          f"(target < {TARGET_S * 1000:.0f} ms: {'OK' if worst < TARGET_S else 'OVER'}; ratio {worst / TARGET_S:.2f})")
    print(f"python -c pass:   median {base * 1000:.0f} ms (interpreter baseline; --help costs {med / base:.1f}× that)")


if __name__ == "__main__":
    main()
