"""The browser flow of the data-mode pages (issue 15), run by tests/test_ui_browser.py after the dataset flow on the
same server, project and fake LLM (tests/ui_modes_responder.py): propose genre–audience pairs (watching the job) and
switch one off → generate dialogues from two ticked questions → review one dialogue round by round, edit a round,
confirm it → add a vision model → upload an image → image QA (a job) → review the QA with the image beside it.
Screenshots of each page go beside the dataset flow's."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from browser_support import settled

JOB_S = 120_000  # ms a job may take on a busy 2-core machine


def _nav(page: Any, name: str) -> None:
    page.locator("nav.tabs").get_by_role("link", name=name).click()
    page.wait_for_load_state()


def _sub(page: Any, name: str) -> None:
    page.locator("nav.subnav").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()


def _done(page: Any, slot: str) -> None:
    """Wait until the job card an action put in `slot` says the job completed."""
    page.locator(f"{slot} .job[data-status='completed']").wait_for(timeout=JOB_S)


def _png(path: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), (40, 120, 200))
    ImageDraw.Draw(image).rectangle((40, 40, 200, 150), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def walk_modes(page: Any, llm_url: str, shots: Path, tmp: Path) -> None:
    from playwright.sync_api import expect

    # 1. the hub, then genre–audience pairs: propose them for every document (a job), switch one off
    page.locator("#lang-select").select_option("en")  # the dataset flow ended in Chinese
    page.wait_for_load_state()
    _nav(page, "More data")
    expect(page.locator("h1")).to_have_text("More ways of making data")
    page.screenshot(path=str(shots / "20-modes.png"), full_page=True)
    _sub(page, "Genre–audience pairs")
    page.get_by_role("button", name="Propose", exact=True).click()
    _done(page, "#ga-slot")
    rows = page.locator("#pairs tbody tr")
    expect(rows).to_have_count(5)
    rows.first.get_by_role("button", name="on").click()
    expect(page.locator("#pairs-slot")).to_contain_text("is off")
    expect(rows.first.get_by_role("button", name="off")).to_be_visible()
    page.screenshot(path=str(shots / "21-ga.png"), full_page=True)

    # 2. dialogues from two ticked questions, then the list
    _nav(page, "Questions")
    for box in page.locator("#list tbody input[name=ids]").all()[:2]:
        box.check()
    page.get_by_role("button", name="Generate dialogues").click()
    _done(page, "#batch-slot")
    _nav(page, "More data")
    _sub(page, "Dialogues")
    listed = page.locator("#list tbody tr")
    expect(listed).to_have_count(2)
    page.screenshot(path=str(shots / "22-dialogues.png"), full_page=True)

    # 3. review one dialogue: every round, edit round 1's question, confirm it with the keyboard
    listed.first.locator("a").first.click()
    expect(page.locator("fieldset.turn")).to_have_count(3)
    page.locator("#f-user-1").fill("What did the company earn in 2024, in short?")
    page.locator("form.dialogue").get_by_role("button", name="Save").click()
    expect(page.locator("#item-slot")).to_contain_text("Saved.")
    settled(page)
    page.keyboard.press("c")
    expect(page.locator("#item-slot")).to_contain_text("confirmed")
    page.get_by_role("button", name="Grounding check").click()
    expect(page.locator("#item-slot")).to_contain_text("in the source")
    settled(page)
    expect(page.locator("#f-user-1")).to_have_value("What did the company earn in 2024, in short?")
    page.screenshot(path=str(shots / "23-dialogue-review.png"), full_page=True)

    # 4. a vision model, an image uploaded, image QA, and its review with the image beside it
    _nav(page, "Settings")
    add = page.locator("#add-model")
    add.get_by_label("Provider preset").select_option("custom")
    add.get_by_label("Model", exact=True).fill("fake-vl")
    add.get_by_label("Name").fill("vision")
    add.get_by_label("Type").select_option("vision")
    add.get_by_label("Base URL").fill(llm_url)
    add.get_by_role("button", name="Add model config").click()
    expect(page.locator("#models tr", has_text="fake-vl")).to_contain_text("vision (reads images)")
    _nav(page, "More data")
    _sub(page, "Images")
    expect(page.locator(".empty")).to_contain_text("No images yet")
    page.locator("input[name=files][data-upload-input]").set_input_files(str(_png(tmp / "chart.png")))
    expect(page.locator("#image-upload-list li.added")).to_contain_text("1 added")
    expect(page.locator("ul.image-grid li")).to_have_count(1)
    page.locator("[data-all-matching]").check()
    page.get_by_role("button", name="Generate QA").click()
    _done(page, "#batch-slot")
    page.screenshot(path=str(shots / "24-images.png"), full_page=True)
    page.locator("#batch-slot").get_by_role("link", name="Review image QA").click()
    page.locator("#list tbody tr a").first.click()
    expect(page.locator("img.review-image")).to_be_visible()
    assert page.locator("img.review-image").evaluate("img => img.naturalWidth") == 320  # the image itself, served
    page.screenshot(path=str(shots / "25-image-review.png"), full_page=True)
