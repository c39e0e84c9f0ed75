"""The terminal loop of `loreforge chat`: read a line, answer it with each side of the `ChatSession`, print.

Answers stream token by token, one side after the other under a label. With `--compare` in a terminal at least
`COLUMNS_MIN` wide (`--layout auto`), or with `--layout columns`, both answers are generated first and shown side
by side. Ctrl-C stops the answer being written (the turn is then forgotten); at the prompt it only reminds how to
leave; Ctrl-D (end of input) and `/exit` leave.
"""

from __future__ import annotations

import itertools
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from loreforge.inference.chat import COMMANDS, ChatSession, Command, Side, parse_line
from loreforge.inference.engine import generate, stream

COLUMNS_MIN = 100
GUTTER = " │ "


@dataclass(frozen=True)
class ChatOptions:
    max_new_tokens: int
    temperature: float
    top_p: float | None
    layout: str  # auto | stacked | columns


def columns_wanted(options: ChatOptions, sides: int, width: int) -> bool:
    if sides < 2 or options.layout == "stacked":
        return False
    return options.layout == "columns" or width >= COLUMNS_MIN


def run_chat(session: ChatSession, options: ChatOptions, out: TextIO, read: Callable[[str], str] = input) -> None:
    """Until /exit or end of input."""
    _say(out, "Type a message; " + ", ".join(c.split()[0] for c in COMMANDS) + ". Ctrl-D leaves.")
    while True:
        try:
            command = parse_line(read("you> "))
        except EOFError:
            _say(out, "")
            return
        except KeyboardInterrupt:
            _say(out, "\n(Ctrl-D or /exit to leave)")
            continue
        if command.kind == "exit":
            return
        _handle(session, options, out, command)


def _handle(session: ChatSession, options: ChatOptions, out: TextIO, command: Command) -> None:
    if command.kind == "say":
        try:
            _answer(session, options, out, command.text)
        except KeyboardInterrupt:
            _say(out, "\n[stopped — this turn is forgotten]")
    elif command.kind == "reset":
        session.reset()
        _say(out, "[conversation reset]")
    elif command.kind == "system":
        session.set_system(command.text)
        _say(out, f"[system prompt set: {command.text}; conversation reset]" if command.text
             else "[system prompt removed; conversation reset]")
    elif command.kind == "help":
        _say(out, "\n".join(f"  {name:<14} {what}" for name, what in COMMANDS.items()))
    elif command.kind == "unknown":
        _say(out, f"[unknown command {command.text}; /help lists them]")


def _answer(session: ChatSession, options: ChatOptions, out: TextIO, user: str) -> None:
    width = shutil.get_terminal_size((80, 24)).columns
    if columns_wanted(options, len(session.sides), width):
        answers = [_whole(session, side, options, user, out) for side in session.sides]
        _say(out, _columns([(s.label, a) for s, a in zip(session.sides, answers, strict=True)], width))
    else:
        answers = [_streamed(session, side, options, user, out, labelled=len(session.sides) > 1)
                   for side in session.sides]
    for side, answer in zip(session.sides, answers, strict=True):  # only once every side answered
        session.record(side, user, answer)


def _streamed(session: ChatSession, side: Side, options: ChatOptions, user: str, out: TextIO, *, labelled: bool) -> str:
    _say(out, f"── {side.label} ──" if labelled else f"{side.label}> ", end="\n" if labelled else "")
    text = stream(side.model, session.conversation(side, user), max_new_tokens=options.max_new_tokens,
                  temperature=options.temperature, top_p=options.top_p)
    for piece in text:
        out.write(piece)
        out.flush()
    _say(out, " [cut: --max-new-tokens reached]" if text.result and text.result.finish_reason == "length" else "")
    return text.result.text if text.result else ""


def _whole(session: ChatSession, side: Side, options: ChatOptions, user: str, out: TextIO) -> str:
    _say(out, f"[{side.label} is answering…]")
    answer = generate(side.model, [session.conversation(side, user)], max_new_tokens=options.max_new_tokens,
                      temperature=options.temperature, top_p=options.top_p)[0]
    return answer.text + (" [cut: --max-new-tokens reached]" if answer.finish_reason == "length" else "")


def _columns(answers: list[tuple[str, str]], width: int) -> str:
    column = max((width - len(GUTTER) * (len(answers) - 1)) // len(answers), 20)
    cells = [[f"── {label} ──"[:column], *_wrap(text, column)] for label, text in answers]
    rows = itertools.zip_longest(*cells, fillvalue="")
    return "\n".join(GUTTER.join(cell.ljust(column) for cell in row).rstrip() for row in rows)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, width) or [""]
    return lines


def _say(out: TextIO, text: str, end: str = "\n") -> None:
    out.write(text + end)
    out.flush()
