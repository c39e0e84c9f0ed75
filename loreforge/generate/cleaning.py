"""The cleaning stage's pure parts: the rule-based cleaner (offline), the LLM cleaner's messages and reply, and
the figure check that flags a cleaning which dropped or invented facts.

Fed by the service (`service/cleaning.py`) with a chunk's text; the cleaned text replaces it there, the original
is kept. The rule cleaner handles the common noise of converted documents without a model: page-number lines,
running headers and footers repeated in the text, advertising and boilerplate lines, lines broken mid-sentence
(joined; a word hyphenated across lines is rejoined), zero-width and control characters, runs of spaces and blank
lines. Markdown structure stays: headings, list items, table rows and code fences are never joined or changed.

The figure check compares the facts of the two texts as the grounding check does (`review.grounding`): every
number, date and name of the original must be in the cleaned text (`dropped`), and every one of the cleaned text
in the original (`added`). A figure that only the noise lines held (a page number) is not counted as dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from loreforge.prompts import Prompt

PAGE_LINE = re.compile(
    r"^\s*(?:[-–—]\s*\d{1,4}\s*[-–—]|第\s*\d{1,4}\s*页(?:\s*[/／,，]?\s*共\s*\d{1,4}\s*页)?|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|\d{1,4}\s*/\s*\d{1,4}|\d{1,4})\s*$",
    re.IGNORECASE,
)
AD_LINE = re.compile(
    r"扫码|二维码|关注(?:我们的)?公众号|点击(?:此处|这里|链接)?(?:阅读|下载|订阅|购买)|广告|免责声明[:：]?\s*$|版权所有|转载请注明"
    r"|\b(?:subscribe (?:now|to)|click here|advertisement|sponsored|all rights reserved|follow us on|sign up for our newsletter)\b",
    re.IGNORECASE,
)
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
STRUCTURE = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|\||>|```|~~~)")
ENDS_SENTENCE = re.compile(r"[。！？；：.!?;:…”’\"')）】」』]\s*$")
REPEAT_MIN = 2  # a short line seen this many times in one text is a running header or footer
REPEAT_MAX_CHARS = 80
AD_MAX_CHARS = 120


@dataclass(frozen=True)
class RuleCleaning:
    """What the rule cleaner made of a text: the cleaned text, the lines it removed, and counts per rule."""

    text: str
    removed: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)


def noise_lines(lines: list[str]) -> dict[int, str]:
    """Line index -> the rule that makes it noise: page numbers, repeated short lines (all but the first), ads."""
    seen: dict[str, int] = {}
    noise: dict[int, str] = {}
    for i, line in enumerate(lines):
        text = line.strip()
        if text and PAGE_LINE.match(text):
            noise[i] = "page numbers"
        elif text.startswith("#"):  # a heading is never noise, but a plain line repeating it is
            title = text.lstrip("#").strip()
            seen[title] = seen.get(title, 0) + 1
        elif not text or STRUCTURE.match(line):
            continue
        elif len(text) <= AD_MAX_CHARS and AD_LINE.search(text):
            noise[i] = "ads and boilerplate"
        elif len(text) <= REPEAT_MAX_CHARS:
            seen[text] = seen.get(text, 0) + 1
            if seen[text] >= REPEAT_MIN:
                noise[i] = "repeated headers and footers"
    return noise


def _joinable(line: str, nxt: str) -> bool:
    if not line.strip() or not nxt.strip() or STRUCTURE.match(line) or STRUCTURE.match(nxt):
        return False
    return not ENDS_SENTENCE.search(line)


def _join(line: str, nxt: str) -> str:
    left, right = line.rstrip(), nxt.lstrip()
    if re.search(r"[A-Za-z]-$", left) and right[:1].islower():
        return left[:-1] + right
    cjk = "\u3000" <= left[-1:] <= "\uffef" or "\u3000" <= right[:1] <= "\uffef"
    return left + ("" if cjk else " ") + right


def rule_clean(text: str) -> RuleCleaning:
    """Clean `text` by rule (see the module docstring); code fences are left exactly as they are."""
    counts: dict[str, int] = {}
    lines = INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    fenced, inside = set(), False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            inside = not inside
            fenced.add(i)
        elif inside:
            fenced.add(i)
    noise = {i: rule for i, rule in noise_lines(lines).items() if i not in fenced}
    kept: list[str] = []
    removed: list[str] = []
    for i, line in enumerate(lines):
        if i in noise:
            removed.append(line.strip())
            counts[noise[i]] = counts.get(noise[i], 0) + 1
            continue
        if i not in fenced and not line.lstrip().startswith("|"):
            line = re.sub(r"(?<=\S)[ \t]{2,}", " ", line).rstrip()
        if kept and i not in fenced and (i - 1) not in fenced and _joinable(kept[-1], line):
            kept[-1] = _join(kept[-1], line)
            counts["broken line wraps"] = counts.get("broken line wraps", 0) + 1
            continue
        kept.append(line)
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    return RuleCleaning(out, tuple(removed), counts)


def figure_changes(original: str, cleaned: str) -> dict[str, list[str]]:
    """The figures, dates and names that differ: `dropped` (in the original, not in the cleaned text — unless only
    noise lines held them) and `added` (in the cleaned text, not in the original)."""
    from loreforge.review import check_grounding

    dropped = list(check_grounding(original, cleaned).missing)
    if dropped:
        noise = "\n".join(rule_clean(original).removed)
        dropped = [v for v in dropped if not (noise and check_grounding(v, noise).ok)]
    added = list(check_grounding(cleaned, original).missing)
    return {"dropped": dropped, "added": added}


def clean_messages(system: Prompt, prompt: Prompt, text: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system.render()},
        {"role": "user", "content": prompt.render(text=text)},
    ]


_FENCED_REPLY = re.compile(r"^\s*```[a-zA-Z]*\n(.*?)\n```\s*$", re.DOTALL)


def reply_text(reply: str) -> str:
    """The cleaned text in a model's reply: a reply wrapped whole in one code fence is unwrapped."""
    m = _FENCED_REPLY.match(reply)
    return (m.group(1) if m else reply).strip()


@dataclass(frozen=True)
class CleanTask:
    chunk_id: int
    text: str


@dataclass(frozen=True)
class CleanDraft:
    text: str
    tokens_in: int
    tokens_out: int
    model: str
    rules: dict[str, int] = field(default_factory=dict)  # rule-based: how many lines each rule changed


async def llm_clean(runner: Any, ctx: Any, task: CleanTask) -> CleanDraft:
    """One call: the chunk's text back without its noise (free text, never cut: a cut reply is asked again)."""
    from loreforge.errors import ProviderError

    messages = clean_messages(ctx.prompts["system"], ctx.prompts["clean_chunk"], task.text)
    completion = await runner.call_text(messages, options=ctx.options, meta=ctx.meta("clean_chunk", f"chunk:{task.chunk_id}"))
    text = reply_text(completion.text)
    if not text:
        raise ProviderError("The model returned an empty text for the chunk", retryable=False,
                            hint="Retry the item (`loreforge jobs retry JOB`) or clean it by rule with --provider extractive")
    return CleanDraft(text, completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.model)


async def offline_clean(_extractor: Any, _ctx: Any, task: CleanTask) -> CleanDraft:
    result = rule_clean(task.text)
    return CleanDraft(result.text or task.text, 0, 0, "rules", result.counts)
