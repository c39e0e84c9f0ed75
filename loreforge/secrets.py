"""API keys: stored encrypted in the `secrets` table, or referenced as `env:VAR`; never returned, logged or
copied into jobs, exports or errors.

A model config holds only a reference: `env:DEEPSEEK_API_KEY` (read from the environment at call time) or
`secret:NAME` (a row of the secrets table, encrypted with Fernet under a key kept in
`$LOREFORGE_HOME/secret.key`, mode 0600, or given as LOREFORGE_SECRET_KEY). A stored key lives as long as a model
config refers to it (`drop_unused`). Text that may reach a user passes through `redact`, which masks the key and
every piece of it of `MIN_PIECE` characters or more (providers echo fragments such as "sk-abc…wxyz").
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.errors import ConfigError, Forbidden, NeedsKey
from loreforge.store.models import ModelConfig, Project, Secret

KEY_FILE = "secret.key"
MIN_PIECE = 8
"""Pieces of a key this long or longer are masked wherever they appear."""
MASK = "***"


class SecretBox:
    """Encrypts and decrypts secret values with the installation's key."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def _fernet(self):  # type: ignore[no-untyped-def]
        from cryptography.fernet import Fernet

        env = os.environ.get("LOREFORGE_SECRET_KEY")
        if env:
            return Fernet(env.encode())
        path = self.home / KEY_FILE
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        return Fernet(path.read_bytes().strip())

    def encrypt(self, value: str) -> str:
        return self._fernet().encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet().decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                "A stored API key cannot be decrypted with this installation's key",
                hint=f"Restore {self.home / KEY_FILE} (or LOREFORGE_SECRET_KEY), or store the key again with "
                "`loreforge models add ... --api-key -`",
            ) from None

    def put(self, session: Session, name: str, value: str) -> str:
        """Store (or replace) a secret; returns its reference `secret:NAME`."""
        row = session.scalar(select(Secret).where(Secret.name == name))
        if row is None:
            session.add(Secret(name=name, ciphertext=self.encrypt(value)))
        else:
            row.ciphertext = self.encrypt(value)
        return f"secret:{name}"

    def resolve(self, session: Session, ref: str | None, provider: str, env_hint: str | None = None) -> str | None:
        """The key a reference points at; NeedsKey when it points at nothing."""
        if not ref:
            return None
        kind, _, name = ref.partition(":")
        if kind == "env":
            value = os.environ.get(name)
            if not value:
                raise NeedsKey(
                    f"No API key for provider '{provider}': the environment variable {name} is not set",
                    hint=f"Set {name}, or store a key with `loreforge models add PROJECT --provider {provider} --api-key -`",
                )
            return value
        if kind == "secret":
            row = session.scalar(select(Secret).where(Secret.name == name))
            if row is None:
                raise NeedsKey(
                    f"No API key for provider '{provider}': the stored secret '{name}' is gone",
                    hint="Store it again with `loreforge models add ... --api-key -`",
                )
            return self.decrypt(row.ciphertext)
        raise ConfigError("Unknown API key reference", expected="env:VAR or secret:NAME", got=repr(kind + ":…"))


def mask(ref: str | None) -> str | None:
    """How a key reference is shown: env references by name, stored secrets never by value."""
    if not ref:
        return None
    kind, _, name = ref.partition(":")
    return f"env:{name}" if kind == "env" else "stored (encrypted) ••••••"


def redact(text: str, key: str | None) -> str:
    """`text` with the key and every piece of it of MIN_PIECE characters or more replaced by MASK."""
    if not key:
        return text
    if len(key) < MIN_PIECE:
        return text.replace(key, MASK)
    hidden = bytearray(len(text))  # 1 where a character belongs to a piece of the key
    for start in range(len(key) - MIN_PIECE + 1):
        piece = key[start:start + MIN_PIECE]
        at = text.find(piece)
        while at != -1:
            hidden[at:at + MIN_PIECE] = b"\x01" * MIN_PIECE
            at = text.find(piece, at + 1)
    out: list[str] = []
    for i, ch in enumerate(text):
        if not hidden[i]:
            out.append(ch)
        elif i == 0 or not hidden[i - 1]:
            out.append(MASK)
    return "".join(out)


def drop_unused(session: Session, ref: str | None) -> None:
    """Delete the stored secret `ref` points at when no model config refers to it any more."""
    kind, _, name = (ref or "").partition(":")
    if kind != "secret":
        return
    session.flush()
    if session.scalar(select(ModelConfig.id).where(ModelConfig.api_key_ref == ref).limit(1)) is None:
        row = session.scalar(select(Secret).where(Secret.name == name))
        if row is not None:
            session.delete(row)


def drop_orphans(session: Session) -> int:
    """Delete every stored secret no model config refers to (after a project and its configs are deleted)."""
    session.flush()
    used = set(session.scalars(select(ModelConfig.api_key_ref).where(ModelConfig.api_key_ref.like("secret:%"))))
    used |= {f"secret:project{pid}:mineru" for pid in session.scalars(select(Project.id))}  # a project's MinerU token
    orphans = [row for row in session.scalars(select(Secret)) if f"secret:{row.name}" not in used]
    for row in orphans:
        session.delete(row)
    return len(orphans)


def check_key_env(name: str, allowed: Sequence[str]) -> None:
    """Refuse an environment variable name that no pattern of `allowed` matches (remote clients name keys
    only among the variables the operator allowed: `loreforge serve --allowed-key-env`)."""
    if not any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed):
        raise Forbidden(
            f"This server does not let a model config read the environment variable {name!r}",
            expected="a name matching " + ", ".join(repr(p) for p in allowed),
            hint="Send the key itself as `api_key` (stored encrypted), or ask the operator to allow the name with "
            "`loreforge serve --allowed-key-env PATTERN`",
        )
