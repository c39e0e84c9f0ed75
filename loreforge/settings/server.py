"""Settings of `loreforge serve`: who may reach the API and what a client may make the server do. Part of the one
settings object (`loreforge.settings`); `loreforge.web.security` enforces them and docs/security.md explains them.

Each field is read from the environment (`env` below) and can be given on the command line, which wins. A
server bound to an address that is not loopback always needs an access token: `LOREFORGE_TOKEN`, or one
generated at start (`with_token`).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from loreforge.defaults import DEFAULT_HOST, DEFAULT_PORT
from loreforge.errors import ConfigError

LOOPBACK_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
"""Host header names always accepted: a browser on the machine itself."""
WILDCARD_BINDS = ("", "0.0.0.0", "::")
TOKEN_BYTES = 32


def is_loopback(host: str) -> bool:
    """Does binding `host` keep the server reachable from this machine only?"""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class ServerSettings(BaseModel):
    """What `loreforge serve` enforces on every request and on what a request may make the server do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(DEFAULT_HOST, description="Address to listen on; anything but loopback needs the access token.")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="Port to listen on.")
    token: SecretStr | None = Field(
        None, description="Access token (`Authorization: Bearer TOKEN` or the `loreforge_token` cookie). Required "
        "when the address is not loopback (generated and printed at start when unset); on loopback only when set.",
    )
    allowed_hosts: tuple[str, ...] = Field(
        (), description="Host header names accepted besides localhost, 127.0.0.1, ::1 and the bind address "
        "(DNS-rebinding guard); `*` accepts any.",
    )
    max_body_mb: float = Field(256.0, gt=0, le=1_000_000, description="Largest request body, megabytes (413 beyond).")
    allow_paths: tuple[Path, ...] = Field(
        (), description="Folders outside LOREFORGE_HOME that API clients may make the server write to.",
    )
    allowed_key_envs: tuple[str, ...] = Field(
        ("*_API_KEY",), description="Environment variables a model config added over the API may name as "
        "`api_key_env` (shell-style patterns).",
    )
    allow_remote_code: bool = Field(
        False, description="Let API clients set `trust_remote_code: true` (runs Python code shipped with a model).",
    )

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def needs_token(self) -> bool:
        return not self.loopback or self.token is not None

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    def host_names(self) -> frozenset[str]:
        """Host header names the server answers to (lower case, without port)."""
        names = set(LOOPBACK_NAMES) | {h.strip().strip("[]").lower() for h in self.allowed_hosts}
        if self.host not in WILDCARD_BINDS:
            names.add(self.host.strip("[]").lower())
        return frozenset(names)

    def with_token(self) -> ServerSettings:
        """These settings with a freshly generated token when one is needed and none was given."""
        if self.loopback or self.token is not None:
            return self
        return self.model_copy(update={"token": SecretStr(secrets.token_urlsafe(TOKEN_BYTES))})

    @classmethod
    def from_env(cls, **given: Any) -> ServerSettings:
        """Settings from the environment (variables in `ENV`), with `given` (command-line values; None and empty
        tuples mean "not given") on top."""
        values: dict[str, Any] = {}
        for field, (var, split) in ENV.items():
            raw = os.environ.get(var)
            if raw:
                values[field] = tuple(p.strip() for p in raw.split(split) if p.strip()) if split else raw
        values.update({k: v for k, v in given.items() if v is not None and v != ()})
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err.get("loc") else "server"
            raise ConfigError(f"Invalid server setting '{name}'", got=repr(err.get("input")), hint=err["msg"]) from None
        return settings.model_copy(update={"allow_paths": tuple(p.expanduser().resolve() for p in settings.allow_paths)})


ENV: dict[str, tuple[str, str | None]] = {
    "token": ("LOREFORGE_TOKEN", None),
    "allowed_hosts": ("LOREFORGE_ALLOWED_HOSTS", ","),
    "max_body_mb": ("LOREFORGE_MAX_BODY_MB", None),
    "allow_paths": ("LOREFORGE_ALLOW_PATHS", os.pathsep),
    "allowed_key_envs": ("LOREFORGE_ALLOWED_KEY_ENVS", ","),
}
"""Setting -> (environment variable, list separator or None for a single value)."""
