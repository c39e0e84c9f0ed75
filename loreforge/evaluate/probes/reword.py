"""Reworded probes: the messages that ask an LLM to rewrite a trained question with a different structure (the
`probe_reword` prompt, not the question prompt), and the reply read back as one question. The service's
rewording job sends these through the one runner (limits, retries, every call logged)."""

from __future__ import annotations

import re

from loreforge.errors import UserError
from loreforge.prompts import Prompt

MAX_CHARS = 500  # as for generated questions: a longer reply is not a question
_LABEL = re.compile(r"^\s*(?:rewritten question|reworded question|new question|question|改写后的问题|改写后|问题)\s*[:：]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’「」『』`"


def reword_messages(system: Prompt, reword: Prompt, question: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system.render()},
            {"role": "user", "content": reword.render(question=question, answer=answer)}]


def read_reword(reply: str) -> str:
    """The rewritten question in a reply: its first non-empty line, without a label ("Question:") or quotes.
    A `UserError` (the item fails with the reply kept) when there is none or it is too long."""
    from loreforge.providers import split_think

    text, _think = split_think(reply)
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    line = _LABEL.sub("", line).strip().strip(_QUOTES).strip()
    if not line:
        raise UserError("The rewording reply holds no question", got=repr(reply[:200]))
    if len(line) > MAX_CHARS:
        raise UserError(f"The rewording reply is not one question (longer than {MAX_CHARS} characters)", got=repr(line[:200] + "…"))
    return line
