"""Markdown table rendering shared by the HTML, DOCX and PDF loaders.

Every loader that finds a table turns it into a list of rows of cell texts and hands it here, so tables look
the same whatever format they came from.
"""

from __future__ import annotations

from collections.abc import Sequence

_BR = "<br>"


def clean_cell(text: str | None) -> str:
    """One cell's text made safe for a Markdown table row: pipes escaped, line breaks as <br>."""
    if not text:
        return ""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    joined = _BR.join(line for line in lines if line)
    return joined.replace("\\", "\\\\").replace("|", "\\|")


def render_table(rows: Sequence[Sequence[str | None]]) -> str:
    """Render rows of cells as a GitHub-flavoured Markdown table; the first row is the header.

    Short rows are padded so every row has as many cells as the widest; rows and columns that are empty
    everywhere are dropped. Returns "" for a table without any text.
    """
    cells = [[clean_cell(c) for c in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    keep = [i for i in range(width) if any(row[i] for row in cells)]
    cells = [[row[i] for i in keep] for row in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "|".join(["---"] * len(keep)) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in cells[1:])
    return "\n".join(lines)
