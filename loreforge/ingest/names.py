"""Safe names and content hashes for uploaded files.

The service layer calls `safe_filename` before it stores an upload under the project's folder, so that a
user-supplied name (which may hold `../`, an absolute path, backslashes, NUL or control characters, a
Windows device name, or hundreds of characters) becomes one harmless path component. `content_hash` gives
the identity used to spot the same file uploaded twice.
"""

from __future__ import annotations

import hashlib
import unicodedata

_FALLBACK_STEM = "unnamed"
_MAX_NAME_BYTES = 200  # below the 255-byte limit of common filesystems, leaving room for prefixes
_MAX_EXT_CHARS = 16
_WINDOWS_FORBIDDEN = set('<>:"|?*')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in "123456789¹²³"
}


def content_hash(data: bytes) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def _clean_chars(name: str) -> str:
    out = []
    for ch in name:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Cs", "Co", "Cn"):  # control, format (bidi overrides), surrogates, unassigned
            continue
        if ch in _WINDOWS_FORBIDDEN:
            out.append("_")
        elif cat.startswith("Z"):  # any kind of space or separator
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _split_ext(name: str) -> tuple[str, str]:
    """("report", ".pdf"); an extension is 1-16 letters, digits, '_' or '-' after the last dot."""
    dot = name.rfind(".")
    ext = name[dot + 1 :] if dot >= 0 else ""
    if not ext or len(ext) > _MAX_EXT_CHARS or not all(ch.isalnum() or ch in "_-" for ch in ext):
        return name, ""
    return name[:dot], "." + ext


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def safe_filename(name: str) -> str:
    """Turn any upload name into a safe single path component.

    Keeps the last path component (both `/` and `\\` count as separators), the extension and readable
    Unicode; drops control and format characters; replaces characters Windows forbids; avoids device names
    such as `CON` or `nul.txt`; caps the length at 200 UTF-8 bytes; never returns "", "." or "..".
    """
    name = unicodedata.normalize("NFC", name.replace("\\", "/"))
    parts = [part for part in name.split("/") if part.strip(" .")]
    name = _clean_chars(parts[-1] if parts else "")
    stem, ext = _split_ext(name.strip(" "))
    stem = stem.strip(" .") or _FALLBACK_STEM
    if stem.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    stem = _truncate_utf8(stem, _MAX_NAME_BYTES - len(ext.encode("utf-8"))).rstrip(" .") or _FALLBACK_STEM
    return stem + ext
