"""Plain-text rendering for the CLI: tables, key/value blocks and JSON. No heavy imports."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

import click


def width(text: str) -> int:
    """Display width: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    if width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def show(value: Any, none: str = "-") -> str:
    """A value as the CLI prints it: `none` for a missing one (never Python's `None`), floats to 4 decimals
    (losses, scores), yes/no for booleans."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in headers]] + [[show(c, none="") for c in row] for row in rows]
    widths = [max(width(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c + " " * (widths[i] - width(c)) for i, c in enumerate(row)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


def kv(pairs: Sequence[tuple[str, Any]]) -> None:
    pad = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        click.echo(f"{key.ljust(pad)}  {show(value)}")


def as_json(value: Any) -> None:
    """Print a pydantic model, a list of them, or plain data as JSON."""
    click.echo(json.dumps(_plain(value), ensure_ascii=False, indent=2, default=str))


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class ProgressLine:
    """A one-line progress bar on stderr for jobs (redrawn in place on a terminal, every 10% otherwise)."""

    def __init__(self, label: str) -> None:
        import sys

        self.label = label
        self.tty = sys.stderr.isatty()
        self._last_step = -1

    def __call__(self, done: int, failed: int, total: int) -> None:
        finished = done + failed
        pct = 100 * finished // total if total else 100
        filled = pct // 5
        line = f"{self.label} [{'#' * filled}{'.' * (20 - filled)}] {finished}/{total}" + (f", {failed} failed" if failed else "")
        if self.tty:
            click.echo("\r" + line, nl=False, err=True)
        elif pct // 10 != self._last_step:
            self._last_step = pct // 10
            click.echo(line, err=True)

    def close(self) -> None:
        if self.tty:
            click.echo("", err=True)


SKIPS_SHOWN = 10


def job_result(job: Any) -> None:
    """Print a job's summary (with its notes), each failure with its reason, and the items it left to others."""
    click.echo(f"job {job.id} ({job.kind}): {job.summary}")
    if job.error:
        click.echo(f"  error: {job.error}")
    for failure in job.failures:
        click.echo(f"  failed {failure.key}: {failure.error}")
    for skip in job.skips[:SKIPS_SHOWN]:
        click.echo(f"  skipped {skip.key}: {skip.error}")
    if len(job.skips) > SKIPS_SHOWN:
        click.echo(f"  ... and {len(job.skips) - SKIPS_SHOWN} more skipped (`loreforge jobs show {job.id} --json`)")
    if job.failed:
        click.echo(f"  rerun only the failed items with `loreforge jobs retry {job.id}`")


def job_outcome(job: Any, json_out: bool) -> None:
    """Print a job that ran in the foreground, then exit with its status's code (0 only when completed)."""
    from loreforge.cli.base import exit_for

    as_json(job) if json_out else job_result(job)
    exit_for(job.status)
