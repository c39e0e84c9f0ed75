"""The domain tag stage's pure parts: the TOC text sent to the LLM, the reply schema, and tree cleaning."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from loreforge.generate.parsing import ListReply
from loreforge.prompts import Prompt
from loreforge.prompts.fragments import TAG_MODE

TOC_CHARS = 6000


class TagNode(BaseModel):
    label: str
    children: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _shapes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"label": value}
        if isinstance(value, dict) and isinstance(value.get("children"), list):
            kids = [c.get("label", "") if isinstance(c, dict) else str(c) for c in value["children"]]
            return {**value, "children": kids}
        return value


class TagsReply(ListReply):
    tags: list[TagNode]


def toc_text(documents: list[tuple[str, list[dict[str, Any]]]], limit: int = TOC_CHARS) -> str:
    """Documents' heading trees as an indented outline, cut to `limit` characters."""
    lines: list[str] = []

    def walk(nodes: list[dict[str, Any]], depth: int) -> None:
        for node in nodes:
            lines.append("  " * depth + "- " + str(node.get("title", "")))
            walk(node.get("children") or [], depth + 1)

    for title, toc in documents:
        lines.append(f"[{title}]")
        walk(toc, 1)
    text = "\n".join(lines)
    return text if len(text) <= limit else text[:limit] + "\n…"


def tree_text(tree: list[TagNode]) -> str:
    return "\n".join(f"- {n.label}: " + ", ".join(n.children) for n in tree)


def tag_messages(system: Prompt, prompt: Prompt, toc: str, existing: list[TagNode], mode: str, language: str) -> list[dict[str, str]]:
    use_existing = mode == "revise" and bool(existing)
    return [
        {"role": "system", "content": system.render()},
        {
            "role": "user",
            "content": prompt.render(
                toc=toc,
                mode=TAG_MODE["revise" if use_existing else "rebuild"][language],
                existing=tree_text(existing) if use_existing else "",
            ),
        },
    ]


def clean_tree(tree: list[TagNode]) -> list[TagNode]:
    """Unique, non-empty labels at both levels; order kept."""
    seen: set[str] = set()
    out: list[TagNode] = []
    for node in tree:
        label = node.label.strip()
        if not label or label in seen:
            continue
        seen.add(label)
        kids: list[str] = []
        for child in node.children:
            c = child.strip()
            if c and c not in seen:
                seen.add(c)
                kids.append(c)
        out.append(TagNode(label=label, children=kids))
    return out
