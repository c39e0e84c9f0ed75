"""Web UI part 2 in a real browser: Playwright drives Debian's Chromium against a real `loreforge serve` process on a
free port, on the confirmed dataset of a project made offline (as part 1's flow leaves it) and a tiny model — start
a short training run from the form (preview first) → watch the loss chart gain points → reload mid-run and see the
page reattach → the run is in `loreforge runs list` → evaluate base vs tuned and open the report → vote in a blind
test (the models named only after the vote) → chat with base and tuned side by side, streamed. A screenshot of
each step is saved (the folder is printed; LOREFORGE_UI_SHOTS picks it). Skips like part 1's browser test without
Playwright or Chromium, unless LOREFORGE_REQUIRE_BROWSER=1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from model_workspace import PROJECT, confirmed_project

from tests.browser_support import ARGS, CHROMIUM, need_browser, serving, shots_folder

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # slow: scheduled first under xdist
WAIT_MS = 90_000  # a worker's start (imports torch) and its work, on a busy 2-core machine
TRAIN_STEPS = 60
PAUSE_AT = 20  # curve points logged when the test pauses the worker to reload the page mid-run


@pytest.fixture()
def workspace(tmp_path: Path) -> dict[str, Any]:
    """The project with its confirmed dataset and probe set, and a tiny model whose answers are visible text."""
    pytest.importorskip("torch")
    from inference_models import sharp_tiny_model

    from loreforge.service import Service
    from loreforge.settings import AppConfig

    home = tmp_path / "home"
    svc = Service(AppConfig.from_env(home))
    confirmed_project(svc)
    svc.close()
    return {"home": home, "model": sharp_tiny_model(tmp_path / "sharp")}


@pytest.fixture()
def server(workspace: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    with serving(workspace["home"], tmp_path / "serve.log") as base:
        yield base


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    return shots_folder(tmp_path)


def test_train_evaluate_vote_and_chat_in_a_browser(workspace: dict[str, Any], server: str, shots: Path) -> None:
    sync_playwright = need_browser()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900}).new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            run_id = _train(page, server, str(workspace["model"]), shots, workspace["home"])
            listed = subprocess.run([sys.executable, "-m", "loreforge", "--home", str(workspace["home"]), "runs", "list", "--json"],
                                    capture_output=True, text=True, timeout=60)
            assert run_id in [r["id"] for r in json.loads(listed.stdout)]  # a run started in the UI is a recorded run
            _evaluate(page, server, str(workspace["model"]), shots)
            _blind_test(page, server, shots)
            _chat(page, server, shots)
        finally:
            page.screenshot(path=str(shots / "last.png"), full_page=True)
            browser.close()
        assert not problems, problems


def _points(page: Any) -> int:  # the chart's points (its steps)
    return int(page.locator("[data-loss-chart]").get_attribute("data-points") or 0)


@contextlib.contextmanager
def _paused_at(home: Path, run_id: int, points: int) -> Iterator[int]:
    """Stop the run's worker process (SIGSTOP) once its trainer_log.jsonl holds `points` records; yield the steps it
    has logged then (the chart's points: a step's loss and eval loss are one); let it go on (SIGCONT) after. A tiny model trains a step in ~15 ms on an idle machine: without the
    pause, "mid-run" would be a race."""
    from loreforge.service import Service
    from loreforge.settings import AppConfig
    from loreforge.store.models import Job
    from loreforge.train.run_files import read_points

    svc = Service(AppConfig.from_env(home))
    deadline = time.monotonic() + WAIT_MS / 1000
    pid = None
    try:
        while time.monotonic() < deadline:
            run = svc.get_run(run_id)
            with svc.db.session() as session:
                pid = session.get(Job, run.job_id).pid if run.status == "running" else None
            if pid and read_points(run.output_dir)[1] >= points:
                os.kill(pid, signal.SIGSTOP)
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"run {run_id} did not log {points} points in time")
        yield len({p["current_steps"] for p in read_points(svc.get_run(run_id).output_dir)[0]})
    finally:
        if pid:
            os.kill(pid, signal.SIGCONT)
        svc.close()


def _train(page: Any, base: str, model: str, shots: Path, home: Path) -> int:
    from playwright.sync_api import expect

    page.goto(f"{base}/ui/p/{PROJECT}/train")
    expect(page.locator("h1")).to_have_text("Train a model")
    form = page.locator("#train-form")
    form.get_by_label("Base model").fill(model)
    form.get_by_label("Method").select_option("full")
    expect(form.get_by_label("LoRA rank")).to_be_hidden()  # the other methods' fields step aside
    for label, value in (("Learning rate", "0.001"), ("Max steps", str(TRAIN_STEPS)), ("Batch size per device", "2"),
                         ("Gradient accumulation", "1"), ("Cutoff length", "96"), ("Eval every (steps)", "10"),
                         ("Checkpoint every (steps)", "10"), ("Log every (steps)", "1")):
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_label("Precision").select_option("fp32")
    form.get_by_role("button", name="Preview YAML").click()
    expect(page.locator("pre.yaml")).to_contain_text(f"max_steps: {TRAIN_STEPS}", timeout=WAIT_MS)  # checks it as a run does
    page.screenshot(path=str(shots / "01-train-form.png"), full_page=True)
    form.get_by_role("button", name="Start training").click()
    page.wait_for_url("**/ui/runs/*")
    run_id = int(page.url.rsplit("/", 1)[1])
    with _paused_at(home, run_id, PAUSE_AT) as paused:  # the worker stopped mid-run: the reload is surely mid-run
        page.wait_for_function(f"() => Number(document.querySelector('[data-loss-chart]').dataset.points) >= {paused}",
                               timeout=WAIT_MS)  # the chart gained them point by point
        page.reload()  # the page reads the run's folder again and follows on
        expect(page.locator(".run-live[sse-connect]")).to_have_count(1)
        assert _points(page) >= paused
        page.screenshot(path=str(shots / "02-run-reloaded-mid-run.png"), full_page=True)
    page.wait_for_function(f"() => Number(document.querySelector('[data-loss-chart]').dataset.points) > {paused}", timeout=WAIT_MS)
    expect(page.locator(".run-stats").first).to_have_attribute("data-status", "completed", timeout=WAIT_MS)
    expect(page.locator(".run-live[sse-connect]")).to_have_count(0, timeout=WAIT_MS)  # it shows the finished run
    expect(page.locator("#checkpoint-table")).to_contain_text("★")
    expect(page.locator("#run-log")).to_contain_text("best checkpoint")
    page.screenshot(path=str(shots / "03-run-done.png"), full_page=True)
    return run_id


def _evaluate(page: Any, base: str, model: str, shots: Path) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/ui/p/{PROJECT}/eval")
    form = page.locator("#eval-form")
    expect(form.get_by_role("textbox", name="Base model")).to_have_value(model)  # the newest run's base
    form.get_by_label("Max new tokens").fill("8")
    form.get_by_role("button", name="Evaluate").click()
    page.wait_for_url("**/ui/evals/*")
    expect(page.locator("#eval-report")).to_contain_text("Tuned vs base, probe by probe", timeout=WAIT_MS)
    expect(page.locator("#eval-report")).not_to_contain_text("Still answering", timeout=WAIT_MS)
    expect(page.locator(".ci-bar").first).to_be_visible()  # accuracy with its interval as an error bar
    page.screenshot(path=str(shots / "04-eval-report.png"), full_page=True)


def _blind_test(page: Any, base: str, shots: Path) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/ui/p/{PROJECT}/arena")
    page.get_by_label("Rounds").fill("2")
    page.get_by_label("Max new tokens").fill("12")
    page.get_by_role("button", name="Create and start").click()
    page.wait_for_url("**/ui/arena/*")
    expect(page.locator("[data-side-done]")).to_have_count(2, timeout=WAIT_MS)
    round_html = page.locator("#arena-round").inner_html()
    assert "swatch-" not in round_html and "run " not in round_html  # which is which: not on the page yet
    page.screenshot(path=str(shots / "05-blind-test.png"), full_page=True)
    page.keyboard.press("1")  # left is better
    expect(page.locator(".revealed")).to_contain_text("You voted: left is better")
    expect(page.locator("#arena-results")).to_contain_text("1 of 2 rounds voted")
    page.screenshot(path=str(shots / "06-blind-test-revealed.png"), full_page=True)


def _chat(page: Any, base: str, shots: Path) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/ui/p/{PROJECT}/chat")
    page.wait_for_url("**/chat?c=*")
    page.evaluate("window.pieces = 0; document.body.addEventListener('htmx:sseMessage', (e) => { if (e.detail.type === 'piece') window.pieces++; })")
    page.locator("#chat-message").fill("How many employees does Harbor Light Robotics have?")
    page.keyboard.press("Enter")
    expect(page.locator(".answer-end")).to_have_count(2, timeout=WAIT_MS)
    assert page.evaluate("window.pieces") >= 4  # both answers came piece by piece
    expect(page.locator(".turn-answer").nth(1)).to_contain_text("run ")
    page.screenshot(path=str(shots / "07-chat.png"), full_page=True)
    page.locator("#lang-select").select_option("zh-CN")
    expect(page.locator("h1")).to_have_text("对话：两个模型并排")
    page.screenshot(path=str(shots / "08-chat-zh.png"), full_page=True)
