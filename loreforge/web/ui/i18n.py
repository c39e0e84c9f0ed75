"""The UI's languages: every string a page shows lives in `messages/<lang>.json` (flat dotted keys), English and
Simplified Chinese. The UI language is the reader's choice (a cookie); the language of prompts and generated data
is the project's `language` setting, independent of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

MESSAGES = Path(__file__).parent / "messages"
LANGUAGES: dict[str, str] = {"en": "English", "zh-CN": "简体中文"}
DEFAULT_LANGUAGE = "en"
COOKIE = "loreforge_lang"

Translate = Callable[..., str]


@cache
def messages(language: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((MESSAGES / f"{language}.json").read_text(encoding="utf-8"))
    return data


def pick_language(cookie: str | None, accept: str | None) -> str:
    """The cookie's language when it is one of ours, else the first of Accept-Language we have, else English."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip()
        if tag.lower().startswith("zh"):
            return "zh-CN"
        if tag.lower().startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def translator(language: str) -> Translate:
    """`t(key, **values)`: the message in `language` with `{name}` fields filled in. A key missing from the
    message files shows as the key itself (tests/test_ui_pages.py fails on any)."""
    table = messages(language)

    def t(key: str, **values: Any) -> str:
        text = table.get(key, key)
        return text.format(**values) if values else text

    return t
