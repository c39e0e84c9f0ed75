"""The state of a `loreforge chat` session: one or two models (base and tuned with `--compare`), each with its
own history (each model sees its own earlier answers), a system prompt, and the slash commands. The terminal loop
that reads and prints is `loreforge.inference.terminal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loreforge.inference.engine import LoadedModel
from loreforge.providers.base import Message

COMMANDS = {
    "/reset": "forget the conversation (the system prompt stays)",
    "/system TEXT": "set the system prompt and start over (`/system` alone removes it)",
    "/exit": "leave (Ctrl-D too); Ctrl-C stops an answer being written",
    "/help": "this list",
}


@dataclass
class Side:
    """One model of the chat, under the label the terminal shows."""

    label: str
    model: LoadedModel
    history: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Command:
    """What a line typed at the prompt asks for: say (text), reset, system (text), exit, help, unknown, empty."""

    kind: str
    text: str = ""


def parse_line(line: str) -> Command:
    text = line.strip()
    if not text:
        return Command("empty")
    if not text.startswith("/"):
        return Command("say", line.strip())
    name, _, rest = text.partition(" ")
    kinds = {"/reset": "reset", "/system": "system", "/exit": "exit", "/quit": "exit", "/help": "help"}
    return Command(kinds.get(name.lower(), "unknown"), rest.strip() if name.lower() in kinds else name)


class ChatSession:
    """The sides and the system prompt; `conversation` is what a side is asked, `record` keeps its answer."""

    def __init__(self, sides: list[Side], system: str | None = None) -> None:
        self.sides = sides
        self.system = system or None

    def reset(self) -> None:
        for side in self.sides:
            side.history.clear()

    def set_system(self, text: str) -> None:
        self.system = text or None
        self.reset()

    def conversation(self, side: Side, user: str) -> list[Message]:
        head: list[Message] = [{"role": "system", "content": self.system}] if self.system else []
        return head + side.history + [{"role": "user", "content": user}]

    def record(self, side: Side, user: str, answer: str) -> None:
        side.history += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
