"""Where text from outside enters: the one check every user string passes before the service stores it.

Text reaches the service from the CLI's arguments, the REST API's JSON, the Python API and imported files. Two
things in a Python `str` are not text any store or wire format can carry: NUL (PostgreSQL refuses it, C
libraries stop at it) and a lone surrogate (half of a UTF-16 pair — `"\\ud800"` in JSON, or a file name decoded
with `surrogateescape`), which cannot be encoded as UTF-8 and used to end as a 500 or a traceback.

- `check_text(field, value)` refuses such a string with a `UserError` naming the field and the position.
- `check_value(field, value)` walks a JSON-like value (dicts, lists, pydantic models, dataclasses) and checks
  every string in it, keys included, without recursion (a value nested 100,000 deep is fine).
- `guard_actions(cls, names)` wraps the listed actions of `Service` so every string argument is checked on the
  way in — the one place, so no action can forget it. Path arguments are left alone (a file name on disk may
  legitimately be non-UTF-8 bytes); the action that opens the file reports on it.
- `printable(text)` makes text safe to put in an error message (surrogates and NUL shown as escapes).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from loreforge.errors import UserError

_BAD = re.compile("[\x00\ud800-\udfff]")
EXPECTED = "text without NUL characters or lone surrogates"
HINTS = {
    True: "Remove the NUL (zero) character and try again",
    False: "Remove that character and try again: a lone surrogate is half of a UTF-16 pair (an emoji cut in two, "
           "JSON with an unpaired \\ud800 escape, or a name decoded from bytes that are not UTF-8)",
}

F = TypeVar("F", bound=Callable[..., Any])
_ALIASES = {"new_name": "name", "new_label": "label"}  # parameters named as the CLI and the API name them


def problem(text: str) -> str | None:
    """What is wrong with `text` (the first bad character and its 1-based position), or None when it is fine."""
    found = _BAD.search(text)
    if found is None:
        return None
    char = found.group()
    what = "a NUL character (U+0000)" if char == "\x00" else f"a lone surrogate U+{ord(char):04X}"
    return f"{what} at character {found.start() + 1}"


def check_text(field: str, value: str) -> str:
    """`value` unchanged, or a `UserError` naming `field` when it holds NUL or a lone surrogate."""
    bad = problem(value)
    if bad is not None:
        raise UserError(f"Invalid text in '{field}'", expected=EXPECTED, got=bad, hint=HINTS["NUL" in bad])
    return value


def _children(field: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{field}.{printable(key)}" if isinstance(key, str) else f"{field}[{key!r}]"
            yield f"{field} (a key)", key
            yield name, item
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield f"{field}[{index}]", item
    elif isinstance(value, BaseModel):
        for key in type(value).model_fields:
            yield f"{field}.{key}", getattr(value, key)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield f"{field}.{item.name}", getattr(value, item.name)


def check_value(field: str, value: Any) -> Any:
    """`value` unchanged, after checking every string in it (see `check_text`); walked with a stack."""
    stack: list[tuple[str, Any]] = [(field, value)]
    while stack:
        name, item = stack.pop()
        if isinstance(item, str):
            check_text(name, item)
        else:
            stack.extend(reversed(list(_children(name, item))))
    return value


def printable(text: str) -> str:
    """`text` with lone surrogates and NUL written as escapes, safe for a message, a terminal or JSON."""
    if _BAD.search(text) is None:
        return text
    return _BAD.sub(lambda m: f"\\u{ord(m.group()):04x}" if m.group() != "\x00" else "\\x00", text)


def _checked_parameters(func: Callable[..., Any]) -> tuple[inspect.Signature, frozenset[str]]:
    """The signature of an action, and the names of its parameters whose values are checked: all but `self`,
    file paths (their annotation names Path) and callbacks."""
    signature = inspect.signature(func)
    skipped = {"self"}
    for name, parameter in signature.parameters.items():
        annotation = str(parameter.annotation)
        if "Path" in annotation or "Progress" in annotation or "Callable" in annotation:
            skipped.add(name)
    return signature, frozenset(signature.parameters) - skipped


def _check_arguments(signature: inspect.Signature, checked: frozenset[str], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> None:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return  # the call itself raises the TypeError that says what is wrong
    for name, value in bound.arguments.items():
        if name not in checked:
            continue
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            for key, item in value.items():
                check_value(key, item)
        else:
            check_value(_ALIASES.get(name, name), value)


def guarded(func: F) -> F:
    """`func` (a method; sync or async) with its string arguments checked first."""
    signature, checked = _checked_parameters(func)
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            _check_arguments(signature, checked, args, kwargs)
            return await func(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(signature, checked, args, kwargs)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def guard_actions(cls: type, names: tuple[str, ...]) -> None:
    """Wrap each listed action of `cls` with `guarded` (set on `cls` itself; the groups stay as they are)."""
    for name in names:
        setattr(cls, name, guarded(getattr(cls, name)))
