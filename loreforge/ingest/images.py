"""Reading images for image QA: what a file, a folder, a zip archive or a PDF holds, each image checked before it is
stored — a known format, a size limit in bytes, a pixel limit read from the header before anything is decoded (the
decompression-bomb guard), then a full decode that refuses truncated or corrupt files. PDF pages are rendered to
PNG with pypdfium2. Pillow and pypdfium2 are the `[vision]` extra.

Fed by the service (`service/images.py`), which stores the accepted bytes under a safe name (content hash) and
reports each refused one with its reason; nothing here touches the store.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loreforge.errors import IngestError, MissingDependency
from loreforge.settings import IngestSettings
from loreforge.settings.modes import ImageSettings

MB = 1024 * 1024
EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp", ".gif": "gif", ".bmp": "bmp"}
FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "MPO": "jpeg"}


@dataclass(frozen=True)
class ImageBytes:
    """One image found in what was given: its name (a zip entry, "report.pdf#page=3"), bytes, and origin."""

    name: str
    data: bytes
    origin: str  # file | folder | zip | pdf
    page: int | None = None


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def pillow() -> Any:
    try:
        from PIL import Image
    except ModuleNotFoundError as exc:
        raise MissingDependency("Pillow", extra="vision", purpose="image QA") from exc
    return Image


def check_image(name: str, data: bytes, limits: ImageSettings) -> ImageInfo:
    """The image's format and size, or IngestError saying why it is refused (too big, too many pixels, not an image,
    damaged)."""
    image_mod = pillow()
    if len(data) > limits.max_file_mb * MB:
        raise IngestError(name, f"is {len(data) / MB:,.1f} MB, more than the image limit of {limits.max_file_mb:g} MB",
                          hint="Scale it down, or raise images.max_file_mb")
    try:
        with image_mod.open(io.BytesIO(data)) as img:  # reads the header only
            fmt, (width, height) = img.format or "", img.size
            if width * height > limits.max_pixels:
                raise IngestError(name, f"has {width}×{height} = {width * height:,} pixels, more than images.max_pixels "
                                  f"({limits.max_pixels:,})", hint="A decompression bomb, or a huge scan: scale it down first")
            img.load()  # a full decode: truncated or corrupt data fails here
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for bad bytes
        raise IngestError(name, f"is not a readable image ({type(exc).__name__}: {exc})",
                          hint="Use PNG, JPEG, WebP, GIF or BMP, and check the file opens") from None
    if fmt not in FORMATS:
        raise IngestError(name, f"is a {fmt or 'unknown'} image", expected="PNG, JPEG, WebP, GIF or BMP")
    return ImageInfo(FORMATS[fmt], width, height)


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in EXTENSIONS


def read_source(path: Path, name: str, images: ImageSettings, ingest: IngestSettings) -> Iterator[ImageBytes]:
    """The images of one thing the user gave: an image file, a folder (every image under it), a .zip, or a .pdf (its
    pages rendered). IngestError for a source that cannot be read at all; each image is checked by the caller."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file() and is_image_name(p.name)):
            yield ImageBytes(str(file.relative_to(path)), _read(file, file.name, images), "folder")
        return
    if not path.is_file():
        raise IngestError(name, "no such file or folder", hint="Check the path")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        yield from _zip(path, name, images, ingest)
    elif suffix == ".pdf":
        yield from render_pdf(path, name, images.pdf_dpi)
    elif suffix in EXTENSIONS:
        yield ImageBytes(name, _read(path, name, images), "file")
    else:
        raise IngestError(name, f"is not an image, a folder, a .zip or a .pdf (got '{suffix or 'no extension'}')",
                          expected=", ".join(sorted(EXTENSIONS)) + ", .zip, .pdf, or a folder")


def _read(path: Path, name: str, images: ImageSettings) -> bytes:
    size = path.stat().st_size
    if size > images.max_file_mb * MB:
        raise IngestError(name, f"is {size / MB:,.1f} MB, more than the image limit of {images.max_file_mb:g} MB")
    return path.read_bytes()


def _zip(path: Path, name: str, images: ImageSettings, ingest: IngestSettings) -> Iterator[ImageBytes]:
    from loreforge.ingest.zipguard import check_zip

    check_zip(path, name, ingest, "zip")
    with zipfile.ZipFile(path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not is_image_name(info.filename) or info.filename.startswith("__MACOSX/"):
                continue
            if info.file_size > images.max_file_mb * MB:
                raise IngestError(f"{name}:{info.filename}", f"is {info.file_size / MB:,.1f} MB, more than the image limit")
            yield ImageBytes(info.filename, archive.read(info), "zip")


PDFIUM = threading.Lock()  # pdfium is not thread-safe: one call into it at a time in the process (pypdfium2's advice)


def _open_pdf(path: Path, name: str) -> Any:
    """The PDF opened with pypdfium2 (call with PDFIUM held)."""
    try:
        import pypdfium2 as pdfium
    except ModuleNotFoundError as exc:
        raise MissingDependency("pypdfium2", extra="vision", purpose="rendering PDF pages as images") from exc
    pillow()
    try:
        return pdfium.PdfDocument(str(path))
    except Exception as exc:  # noqa: BLE001 - pdfium raises PdfiumError for damaged or encrypted files
        raise IngestError(name, f"is not a readable PDF ({exc})", hint="Open it and save it again, or remove its password") from None


def _png(pdf: Any, index: int, dpi: int) -> bytes:
    buffer = io.BytesIO()
    pdf[index].render(scale=dpi / 72).to_pil().save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_page_count(path: Path, name: str) -> int:
    with PDFIUM:
        pdf = _open_pdf(path, name)
        try:
            return len(pdf)
        finally:
            pdf.close()


def render_page(path: Path, name: str, dpi: int, page: int) -> bytes:
    """One page of a PDF (from 1) as a PNG."""
    with PDFIUM:
        pdf = _open_pdf(path, name)
        try:
            if not 1 <= page <= len(pdf):
                raise IngestError(name, f"has no page {page}")
            return _png(pdf, page - 1, dpi)
        finally:
            pdf.close()


def render_pdf(path: Path, name: str, dpi: int) -> Iterator[ImageBytes]:
    """Every page of a PDF as a PNG (pypdfium2; Pillow for the encoding), one page at a time under PDFIUM."""
    with PDFIUM:
        pdf = _open_pdf(path, name)
    try:
        with PDFIUM:
            count = len(pdf)
        for index in range(count):
            with PDFIUM:
                data = _png(pdf, index, dpi)
            yield ImageBytes(f"{name}#page={index + 1}", data, "pdf", index + 1)
    finally:
        with PDFIUM:
            pdf.close()
