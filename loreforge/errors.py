"""One error hierarchy for LoreForge.

Every message is written for the person at the keyboard: what was expected, what came, and how to fix it.
The CLI prints `str(error)` without a traceback; the REST API maps `http_status` to the response code and
returns the same text.
"""

from __future__ import annotations


class LoreForgeError(Exception):
    """Root of every error LoreForge raises on purpose."""

    http_status: int = 500

    def __init__(
        self,
        message: str,
        *,
        expected: str | None = None,
        got: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.expected = expected
        self.got = got
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.message.rstrip(".")]
        if self.expected is not None:
            parts.append(f"expected {self.expected}")
        if self.got is not None:
            got = self.got[:-1] if self.got.endswith(".") and not self.got.endswith("..") else self.got
            parts.append(f"got {got}")  # one full stop at the end, not two
        text = ": ".join(parts[:1]) + ("" if len(parts) == 1 else " — " + ", ".join(parts[1:]))
        if self.hint:
            hint = self.hint.strip()
            text += f". {hint}" + ("" if hint[-1:] in ".?!" else ".")
        else:
            text += "."
        return text

    def to_dict(self) -> dict[str, str | None]:
        return {
            "error": type(self).__name__,
            "message": str(self),
            "expected": self.expected,
            "got": self.got,
            "hint": self.hint,
        }


class UserError(LoreForgeError):
    """The request cannot be done as asked; the user can fix it."""

    http_status = 400


class NotFound(UserError):
    """A named thing (project, document, chunk, ...) does not exist."""

    http_status = 404


class Conflict(UserError):
    """The action clashes with what is stored (a duplicate name, a stale edit)."""

    http_status = 409


class Forbidden(UserError):
    """The server refuses this request or this value (a path outside the writable folders, a refused option)."""

    http_status = 403


class Unauthorized(Forbidden):
    """The request lacks the server's access token."""

    http_status = 401


class TooLarge(UserError):
    """A request body is larger than the server accepts."""

    http_status = 413


class ConfigError(UserError):
    """A setting or configuration value is invalid."""

    http_status = 422


class IngestError(UserError):
    """A document could not be read. The message names the file."""

    http_status = 422

    def __init__(self, filename: str, message: str, *, hint: str | None = None, **kw: str | None) -> None:
        self.filename = filename
        super().__init__(f"{filename}: {message}", hint=hint, **kw)


class MissingDependency(ConfigError):
    """An optional package is needed for this action."""

    def __init__(self, package: str, extra: str | None = None, purpose: str = "this action") -> None:
        install = f"pip install 'loreforge[{extra}]'" if extra else f"pip install {package}"
        super().__init__(
            f"The optional package '{package}' is needed for {purpose}",
            hint=f"Install it with `{install}`",
        )


class ProviderError(LoreForgeError):
    """An LLM provider failed. `retryable` says whether the runner may try again."""

    http_status = 502

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None, **kw: str | None) -> None:
        self.retryable = retryable
        self.status = status
        super().__init__(message, **kw)


class NeedsKey(ConfigError):
    """A provider needs an API key that is not configured."""
