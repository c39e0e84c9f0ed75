"""PDF pages through a vision model — the pure parts: a page image to Markdown (one call per page, concurrent through
the runner), the headings of the joined pages, and one call that repairs their levels across pages (a page alone
cannot tell a chapter from a section). Fed by `service/pdf_convert.py`; Easy Dataset's vision strategy works the same
way (a call per page, then a heading pass)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from loreforge.generate.parsing import ListReply

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
_WRAPPED = re.compile(r"^\s*```(?:markdown|md)?\s*\n(.*?)\n```\s*$", re.DOTALL)


@dataclass(frozen=True)
class PageTask:
    name: str  # "report.pdf#page=3"
    page: int
    url: str  # the rendered page as a data: URL


@dataclass(frozen=True)
class PageDraft:
    markdown: str
    tokens_in: int
    tokens_out: int
    model: str


async def llm_page(runner: Any, ctx: Any, task: PageTask) -> PageDraft:
    """One call: the page image as Markdown (a reply wrapped whole in a code fence is unwrapped)."""
    from loreforge.generate.vision import vision_messages

    messages = vision_messages(ctx.prompts["system"].render(), ctx.prompts["pdf_page"].render(), task.url)
    completion = await runner.call_text(messages, options=ctx.options, meta=ctx.meta("pdf_page", task.name))
    m = _WRAPPED.match(completion.text)
    text = (m.group(1) if m else completion.text).strip()
    return PageDraft(text, completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.model)


def headings(markdown: str) -> list[tuple[int, int, str]]:
    """(line number, level, title) of every ATX heading outside code fences."""
    out: list[tuple[int, int, str]] = []
    inside = False
    for number, line in enumerate(markdown.split("\n")):
        if FENCE.match(line):
            inside = not inside
            continue
        m = None if inside else HEADING.match(line)
        if m:
            out.append((number, len(m.group(1)), m.group(2)))
    return out


def set_levels(markdown: str, levels: dict[int, int]) -> str:
    """`markdown` with the heading on each line number in `levels` at that level (1-6)."""
    lines = markdown.split("\n")
    for number, level in levels.items():
        m = HEADING.match(lines[number])
        if m and 1 <= level <= 6:
            lines[number] = "#" * level + " " + m.group(2)
    return "\n".join(lines)


class HeadingLevel(BaseModel):
    id: int
    level: int


class HeadingsReply(ListReply):
    headings: list[HeadingLevel]


async def repair_headings(runner: Any, ctx: Any, name: str, markdown: str) -> tuple[str, int, int]:
    """One call that sets the level of every heading of the joined pages; (markdown, tokens in, tokens out). No
    headings: no call."""
    found = headings(markdown)
    if not found:
        return markdown, 0, 0
    listed = "\n".join(f"{i}. {'#' * level} {title}" for i, (_n, level, title) in enumerate(found, 1))
    messages = [{"role": "system", "content": ctx.prompts["system"].render()},
                {"role": "user", "content": ctx.prompts["pdf_headings"].render(headings=listed)}]
    result = await runner.call_json(messages, HeadingsReply, options=ctx.options, meta=ctx.meta("pdf_headings", name))
    levels = {found[h.id - 1][0]: h.level for h in result.value.headings if 1 <= h.id <= len(found)}
    usage = result.completion.usage
    return set_levels(markdown, levels), usage.prompt_tokens, usage.completion_tokens
