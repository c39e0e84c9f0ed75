"""Zip-bomb guard for the archive formats (DOCX and EPUB are zip files).

Before a DOCX or EPUB loader lets a library open the archive, `check_zip` reads only the central directory
and refuses the file when the declared uncompressed sizes add up to more than `ingest.max_unpacked_mb`, or
when one entry claims an implausible compression ratio. Python's zipfile never inflates an entry beyond its
declared size (it stops and reports a CRC error), so the declared sizes bound what the libraries can unpack.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from loreforge.errors import IngestError
from loreforge.settings import IngestSettings

MB = 1024 * 1024
# Office XML and XHTML compress 5-30x, rarely 100x; zip bombs reach 1000x and more.
MAX_COMPRESSION_RATIO = 200
_RATIO_CHECK_MIN_BYTES = 8 * MB  # small entries may compress well (blank XML); only large ones are checked
_DAMAGED_HINT = "Open it in the program that made it and save it again, or upload the original file"


def check_zip(path: Path, filename: str, limits: IngestSettings, kind: str) -> None:
    """Refuse a damaged archive or one that would unpack beyond the limits; extracts nothing."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise IngestError(
            filename, f"is damaged or truncated (not a readable {kind} archive)", hint=_DAMAGED_HINT
        ) from exc
    if not infos:
        raise IngestError(filename, f"is damaged or truncated (the {kind} archive holds no files)", hint=_DAMAGED_HINT)
    total = sum(info.file_size for info in infos)
    limit = limits.max_unpacked_mb * MB
    if total > limit:
        raise IngestError(
            filename,
            f"would unpack to {total / MB:,.1f} MB, more than the limit of {limits.max_unpacked_mb:g} MB",
            hint="If the file is genuine, raise the limit with "
            "`loreforge settings set PROJECT ingest.max_unpacked_mb N`",
        )
    for info in infos:
        if info.file_size >= _RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise IngestError(
                filename,
                f"looks like a zip bomb: the entry '{info.filename}' claims to expand "
                f"{info.file_size / max(info.compress_size, 1):,.0f}-fold (to {info.file_size / MB:,.1f} MB)",
                hint="Refused for safety; if the file is genuine, unpack and re-save it with a normal office tool",
            )
