"""`loreforge chat`: the session and its commands; the terminal loop with base and tuned (answers are the engine's
greedy answers, each side keeps its own history, /system and /reset start over, columns in a wide terminal); and
the real command in a pseudo-terminal: `--compare` shows both labelled answers and leaves on /exit, Ctrl-D leaves,
Ctrl-C stops a long answer (on the starter model) and the prompt comes back."""

from __future__ import annotations

import io
import os
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from inference_models import random_adapter, sharp_tiny_model  # noqa: E402

from loreforge.inference.chat import ChatSession, Side, parse_line  # noqa: E402
from loreforge.inference.engine import LoadedModel, generate, load_model  # noqa: E402
from loreforge.inference.terminal import GUTTER, ChatOptions, run_chat  # noqa: E402

pty = pytest.importorskip("pty")  # POSIX only
REPO = Path(__file__).resolve().parent.parent
MAX_NEW = 8


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("chat")
    model = sharp_tiny_model(root / "model")
    return {"model": model, "adapter": random_adapter(model, root / "adapter")}


@pytest.fixture(scope="module")
def loaded(models: dict[str, Path]) -> dict[str, LoadedModel]:
    return {"base": load_model(str(models["model"])), "tuned": load_model(str(models["model"]), models["adapter"])}


def test_lines_are_commands_or_messages() -> None:
    assert parse_line("  hello there ").kind == "say" and parse_line("hello").text == "hello"
    assert parse_line("/system Be brief.").kind == "system" and parse_line("/system Be brief.").text == "Be brief."
    assert [parse_line(x).kind for x in ("/reset", "/exit", "/quit", "/help", "/RESET", "", "   ")] == \
        ["reset", "exit", "exit", "help", "reset", "empty", "empty"]
    assert parse_line("/frobnicate now").kind == "unknown" and parse_line("/frobnicate").text == "/frobnicate"


def _reader(lines: list[str | type[BaseException]]) -> object:
    feed = iter(lines)

    def read(_prompt: str) -> str:
        item = next(feed, EOFError)
        if isinstance(item, type):
            raise item()
        return item
    return read


def _expected(model: LoadedModel, conversation: list[dict[str, str]]) -> str:
    return generate(model, [conversation], max_new_tokens=MAX_NEW)[0].text


def test_compare_answers_with_each_side_and_keeps_their_histories(loaded: dict[str, LoadedModel],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    base, tuned = Side("base · m", loaded["base"]), Side("tuned · a", loaded["tuned"])
    session = ChatSession([base, tuned])
    out = io.StringIO()
    read = _reader(["hello", "", "/nope", "/help", KeyboardInterrupt, "revenue", "/system Be brief.", "who?", "/exit",
                    "never read"])
    run_chat(session, ChatOptions(MAX_NEW, 0.0, None, "auto"), out, read)  # type: ignore[arg-type]
    text = out.getvalue()
    first = {s.label: _expected(s.model, [{"role": "user", "content": "hello"}]) for s in (base, tuned)}
    assert first["base · m"] != first["tuned · a"]
    for label, answer in first.items():
        assert f"── {label} ──\n{answer}" in text
    history = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": first["base · m"]}]
    second = _expected(base.model, history + [{"role": "user", "content": "revenue"}])
    assert f"── base · m ──\n{second}" in text  # the second turn saw the first
    third = _expected(base.model, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "who?"}])
    assert f"── base · m ──\n{third}" in text  # /system started over, with the system prompt
    assert "[unknown command /nope; /help lists them]" in text and "/reset" in text and "(Ctrl-D or /exit to leave)" in text
    assert "[system prompt set: Be brief.; conversation reset]" in text
    assert len(base.history) == len(tuned.history) == 2 and session.system == "Be brief."
    assert tuned.history[1]["content"] == _expected(
        tuned.model, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "who?"}])


def test_reset_forgets_and_a_single_model_is_not_labelled_as_a_pair(loaded: dict[str, LoadedModel]) -> None:
    side = Side("tuned · a", loaded["tuned"])
    session = ChatSession([side], system="S")
    out = io.StringIO()
    run_chat(session, ChatOptions(MAX_NEW, 0.0, None, "columns"), out, _reader(["hi", "/reset"]))  # type: ignore[arg-type]
    assert side.history == [] and session.system == "S" and "[conversation reset]" in out.getvalue()
    answer = _expected(side.model, [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}])
    assert f"tuned · a> {answer}" in out.getvalue() and "──" not in out.getvalue()


def test_a_wide_terminal_shows_the_answers_side_by_side(loaded: dict[str, LoadedModel],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    session = ChatSession([Side("base · m", loaded["base"]), Side("tuned · a", loaded["tuned"])])
    out = io.StringIO()
    run_chat(session, ChatOptions(MAX_NEW, 0.0, None, "auto"), out, _reader(["hello"]))  # type: ignore[arg-type]
    header = next(line for line in out.getvalue().splitlines() if "── base · m ──" in line)
    left, right = header.split(GUTTER)
    assert len(left) == (140 - len(GUTTER)) // 2 and right.strip() == "── tuned · a ──"
    assert all(len(s.history) == 2 for s in session.sides)


# -- the command in a pseudo-terminal ---------------------------------------------------------------------

class Terminal:
    """`loreforge ARGS` in a pseudo-terminal of `columns` columns: read until a pattern, type."""

    def __init__(self, args: list[str], home: Path, columns: int = 80) -> None:
        env = {**os.environ, "LOREFORGE_HOME": str(home), "COLUMNS": str(columns), "TERM": "dumb",
               "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error", "TQDM_DISABLE": "1"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal, so Ctrl-C is its SIGINT
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # not ignored, even when the tests were started in the background
            os.execvpe(sys.executable, [sys.executable, "-m", "loreforge", *args], env)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} in:\n{self.seen[-3000:]}"
            ready, _, _ = select.select([self.fd], [], [], min(left, 1))
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536).decode("utf-8", "replace").replace("\r\n", "\n")
                except OSError:  # the child closed the terminal
                    break
        return self.seen

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def exit_code(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.expect_drain()
                return os.waitstatus_to_exitcode(status)
            self.expect_drain()
            time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the chat did not exit:\n{self.seen[-3000:]}")

    def expect_drain(self) -> None:
        while select.select([self.fd], [], [], 0)[0]:
            try:
                block = os.read(self.fd, 65536)
            except OSError:
                return
            if not block:
                return
            self.seen += block.decode("utf-8", "replace").replace("\r\n", "\n")


def test_compare_in_a_terminal_shows_both_answers_and_exits(models: dict[str, Path], tmp_path: Path) -> None:
    term = Terminal(["chat", "--model", str(models["model"]), "--adapter", str(models["adapter"]), "--compare",
                     "--max-new-tokens", str(MAX_NEW)], tmp_path / "home")
    term.expect(r"you> ")
    term.type("hello\r")
    seen = term.expect(r"── tuned · adapter ──[\s\S]*you> ")
    assert f"── base · {models['model'].name} ──" in seen
    term.type("/exit\r")
    assert term.exit_code() == 0


def test_ctrl_d_leaves_and_ctrl_c_stops_a_long_answer(starter_model: Path, tmp_path: Path) -> None:
    term = Terminal(["chat", "--model", str(starter_model), "--max-new-tokens", "2000"], tmp_path / "home")
    term.expect(r"you> ")
    term.type("Write a very long story about a lighthouse keeper, with many chapters.\r")
    term.expect(r"base · [^>]+> \S+ \S+ \S+")  # a few words streamed
    started = time.monotonic()
    term.type("\x03")
    term.expect(r"\[stopped — this turn is forgotten\]\nyou> ", timeout=60)
    assert time.monotonic() - started < 30  # far less than 2,000 tokens take
    term.type("\x04")
    assert term.exit_code() == 0
