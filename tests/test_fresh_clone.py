"""A fresh clone has no ../shared: the tests that read the shared corpus skip there, naming it; CI
(LOREFORGE_REQUIRE_CORPUS=1, set by .ci/run) turns that skip into a failure so they cannot silently stop
running. Runs one such test in a child pytest both ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ONE = "tests/test_grounding.py::test_reference_workflow_wrong_figure"


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if k != "LOREFORGE_REQUIRE_CORPUS"}
    child.update(LOREFORGE_SHARED=str(tmp_path / "no-shared"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist", ONE],
                          cwd=TESTS.parent, env=child, capture_output=True, text=True, timeout=120)


def test_without_the_corpus_it_skips_with_the_reason(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout and "needs the shared corpus" in done.stdout
    assert str(tmp_path / "no-shared" / "corpus" / "financial-2024q2" / "kuaishou.md") in done.stdout


def test_in_ci_a_missing_corpus_fails(tmp_path: Path) -> None:
    done = _pytest(tmp_path, LOREFORGE_REQUIRE_CORPUS="1")
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout[-2000:]
    assert "does not allow skipping it" in done.stdout


def test_ci_requires_the_corpus() -> None:
    assert "export LOREFORGE_REQUIRE_CORPUS=1" in (TESTS.parent / ".ci" / "run").read_text(encoding="utf-8")
