"""The web UI in a real browser: Playwright drives Debian's Chromium (never a browser of its own) against a real
`loreforge serve` process on a free port and the fake LLM server, through the dataset half of the workflow —
create a project → configure a model and test it → upload two documents → split → build tags → generate questions
(watching the job's progress) → generate answers → review (edit one, confirm two, filter by grounding failures) →
export the LLaMA Factory bundle and download it — then the data-mode pages (tests/ui_browser_modes.py: genre–audience
pairs, dialogues reviewed round by round, image QA reviewed beside the image). A screenshot of each page is saved (the folder is printed;
LOREFORGE_UI_SHOTS picks it). Skips without Playwright or Chromium, with the reason — unless
LOREFORGE_REQUIRE_BROWSER=1 (CI, whose .ci/run installs Chromium), where it fails instead."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import ARGS, CHROMIUM, need_browser, serving, settled, shots_folder
from tests.conftest import examples

JOB_S = 120_000  # ms a generation job may take on a busy 2-core machine

pytestmark = pytest.mark.browser


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[str]:
    """`loreforge serve` in its own process on a free port; yields its base URL."""
    with serving(tmp_path / "home", tmp_path / "serve.log") as base:
        yield base


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    return shots_folder(tmp_path)


def _wait_job(page: Any, status: str = "completed") -> None:
    """Wait until the job card a generation action put on the page says the job ended as `status`."""
    page.locator(f"#batch-slot .job[data-status='{status}']").wait_for(timeout=JOB_S)


def _nav(page: Any, name: str) -> None:
    """Open a page from the project's tabs (their names carry counts: "Chunks 12")."""
    page.locator("nav.tabs").get_by_role("link", name=name).click()
    page.wait_for_load_state()


def test_the_dataset_workflow_in_a_browser(served: str, shots: Path, tmp_path: Path) -> None:
    sync_playwright = need_browser()
    from fake_llm import FakeLLM
    from ui_browser_modes import walk_modes
    from ui_modes_responder import respond  # the dataset flow's prompts, and the data modes'

    with FakeLLM(responder=respond) as fake, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            _walk(page, served, fake.base_url, shots, tmp_path)
            walk_modes(page, fake.base_url, shots, tmp_path)
        finally:
            page.screenshot(path=str(shots / "last.png"), full_page=True)
            browser.close()
        assert not problems, problems  # no script error on any page
        assert fake.chat_requests(), "the model was never called"


def _walk(page: Any, base: str, llm_url: str, shots: Path, tmp: Path) -> None:
    from playwright.sync_api import expect

    # 1. create a project
    page.goto(f"{base}/")
    expect(page.locator("h1")).to_have_text("Projects")
    page.screenshot(path=str(shots / "01-projects-empty.png"), full_page=True)
    form = page.locator("form[action='/ui/projects']")
    form.get_by_label("Name").fill("browser flow")
    form.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/ui/p/browser%20flow/documents")

    # 2. configure a model and test it
    _nav(page, "Settings")
    add = page.locator("#add-model")
    add.get_by_label("Provider preset").select_option("custom")
    add.get_by_label("Model", exact=True).fill("fake-qa")
    add.get_by_label("Name").fill("fake")
    add.get_by_label("Base URL").fill(llm_url)
    add.get_by_label("API key", exact=True).fill("sk-browser-test-key-123456")
    add.get_by_label("Temperature").fill("0.3")
    add.get_by_role("button", name="Add model config").click()
    expect(page.locator("#add-model-slot")).to_contain_text("Model config 'fake' added")
    row = page.locator("#models tr", has_text="fake-qa")
    expect(row).to_contain_text("active")
    expect(row).not_to_contain_text("sk-browser-test-key")  # the key is write-only
    row.get_by_role("button", name="Test connection").click()
    expect(row).to_contain_text("Connected in")
    page.screenshot(path=str(shots / "02-settings.png"), full_page=True)

    # 3. upload two documents (split on upload), split again, build the tag tree
    _nav(page, "Documents")
    page.locator("#upload-files").set_input_files([str(p) for p in examples()[:2]])
    expect(page.locator("#upload-list li.added")).to_have_count(2, timeout=60_000)
    expect(page.locator("#document-list tbody tr")).to_have_count(2)
    split = page.locator("form[hx-post$='/split']")
    split.get_by_label("Split again even if unchanged").check()
    split.get_by_role("button", name="Split").click()
    expect(page.locator("#split-slot")).to_contain_text("chunks (shortest")
    page.get_by_role("button", name="Build tags").click()
    expect(page.locator("#tag-tree .tree li").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(shots / "03-documents.png"), full_page=True)
    page.locator("#document-list tbody a").first.click()
    expect(page.locator(".toc")).to_be_visible()
    page.screenshot(path=str(shots / "04-document.png"), full_page=True)

    # 4. chunks: select all matching → generate questions, watching the job's live progress
    _nav(page, "Chunks")
    expect(page.locator("#list tbody tr").first).to_be_visible()
    page.get_by_label("Select all", exact=False).last.check()
    page.get_by_role("button", name="Generate questions").click()
    expect(page.locator("#batch-slot")).to_contain_text("started: questions for")
    expect(page.locator("#jobs-indicator")).to_be_visible()
    _wait_job(page)
    page.screenshot(path=str(shots / "05-chunks.png"), full_page=True)

    # 5. questions: the tag tree, then select all → generate answers
    _nav(page, "Questions")
    page.get_by_role("link", name="Tag tree").click()
    expect(page.locator(".tree-nav")).to_be_visible()
    page.screenshot(path=str(shots / "06-questions-tree.png"), full_page=True)
    page.get_by_role("link", name="List", exact=True).click()
    page.locator("[data-all-matching]").check()
    page.get_by_role("button", name="Generate answers").click()
    _wait_job(page)
    _nav(page, "Jobs")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.screenshot(path=str(shots / "07-jobs.png"), full_page=True)

    # 6. review: edit one (a figure the source does not hold), confirm two, check grounding, filter failures
    _nav(page, "Dataset")
    rows = page.locator("#list tbody tr")
    expect(rows.first).to_be_visible()
    rows.first.locator("a").first.click()
    answer = page.locator("#f-answer")
    answer.fill("Revenue was 987654 billion yuan in the half year.")
    page.locator("form.editor").get_by_role("button", name="Save").click()
    expect(page.locator("#item-slot")).to_contain_text("Saved.")
    settled(page)  # the item view reloads after a save; keys act on the new one
    page.keyboard.press("c")  # keyboard review: confirm this item
    expect(page.locator("#item-slot")).to_contain_text("confirmed")
    settled(page)
    page.get_by_role("button", name="Grounding check").click()
    expect(page.locator("#item-slot")).to_contain_text("not in the source")
    settled(page)  # the item view reloads with the check's marks
    expect(page.locator("mark.missing").first).to_be_visible()
    page.screenshot(path=str(shots / "08-review.png"), full_page=True)
    settled(page)
    page.keyboard.press("j")  # the next item of the list
    page.wait_for_url("**pos=2**")
    page.get_by_role("button", name="Confirm").first.click()
    expect(page.locator("#item-slot")).to_contain_text("confirmed")
    page.get_by_role("link", name="← Dataset").click()
    filters = page.locator("form.filters")
    filters.get_by_label("Grounding").select_option("true")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("987654")
    filters.get_by_label("Grounding").select_option("")
    filters.get_by_label("Confirmed").select_option("true")
    expect(rows).to_have_count(2)
    page.screenshot(path=str(shots / "09-dataset.png"), full_page=True)

    # 7. export the LLaMA Factory bundle of the confirmed pairs, and download it
    _nav(page, "Export")
    page.get_by_label("Validation share").fill("0")
    page.get_by_role("button", name="Export", exact=True).click()
    expect(page.locator("#export-slot")).to_contain_text("Exported 2 QA pairs")
    path = page.locator("#export-path").input_value()
    assert path.endswith("llamafactory") and "dataset_info.json" in page.locator("#export-slot").inner_text()
    with page.expect_download() as download:
        page.locator("#export-slot a", has_text="Download as zip").click()
    saved = tmp / "bundle.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        assert "dataset_info.json" in bundle.namelist()
    page.screenshot(path=str(shots / "10-export.png"), full_page=True)

    # 8. usage, and the language switch
    _nav(page, "Usage")
    expect(page.locator("#usage-chart canvas")).to_be_visible()
    page.screenshot(path=str(shots / "11-usage.png"), full_page=True)
    page.locator("#lang-select").select_option("zh-CN")
    expect(page.locator("h1")).to_have_text("用量")
    page.screenshot(path=str(shots / "12-usage-zh.png"), full_page=True)
