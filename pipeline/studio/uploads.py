"""Uploads: streamed to server-chosen names under a size limit, then checked by their bytes.

The browser's file name is only ever shown back in messages; it never reaches the file system.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import AudioError, InputError, PhotoError

MB = 1024 * 1024
MAX_PHOTO_BYTES = 20 * MB
MAX_AUDIO_BYTES = 200 * MB
MAX_NAME_CHARS = 80
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif",
                 "GIF": "gif", "MPO": "jpg"}
UPLOADS_DIR = "uploads"


class UploadTooLarge(InputError):
    """The body is over the limit; it was not (or no longer) read."""


@dataclass(frozen=True)
class Upload:
    id: str
    path: Path
    name: str           # the user's file name, cleaned, for messages


def display_name(raw: str | None, fallback: str) -> str:
    """A file name safe to show in a message: base name only, printable, short."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w .,()+\-]", "_", name).strip()[:MAX_NAME_CHARS]
    return name or fallback


def too_large_message(kind: str, size_bytes: int | None, limit_bytes: int) -> str:
    size = f" ({size_bytes / MB:.0f} MB)" if size_bytes else ""
    fix = ("Export a smaller JPEG or PNG (a few megabytes is plenty for a 1080 px video)."
           if kind == "photo" else
           "Export the narration as MP3 or M4A, or split it into shorter recordings.")
    return f"The {kind} file is too large{size}: the limit is {limit_bytes // MB} MB. {fix}"


async def save_stream(chunks: AsyncIterator[bytes], path: Path, limit_bytes: int, kind: str) -> int:
    """Write the body to `path`, stopping (and deleting it) once it passes `limit_bytes`."""
    size = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("wb") as f:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit_bytes:
                    raise UploadTooLarge(too_large_message(kind, None, limit_bytes))
                f.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise InputError(f"The {kind} file is empty (0 bytes). Choose the file again.")
    return size


def sniff_photo(path: Path, name: str) -> str:
    """The photo's format extension, from its bytes. PhotoError when it is no image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            fmt = im.format or ""
    except (UnidentifiedImageError, OSError, ValueError):
        raise PhotoError(
            f"{name} is not a photo (its contents are not an image, whatever its name says). "
            "Choose a JPEG or PNG photo of a face.") from None
    if fmt not in PHOTO_FORMATS:
        raise PhotoError(f"{name} is a {fmt or 'unknown'} image, which is not supported here. "
                         "Choose a JPEG or PNG photo.")
    return PHOTO_FORMATS[fmt]


def public_message(exc: BaseException, path: Path, name: str) -> str:
    return str(exc).replace(str(path), name)


def check_audio(path: Path, name: str) -> float:
    """Decode the recording as the render will; its duration in seconds, or AudioError."""
    from pipeline.speech import load_audio

    try:
        return load_audio(path).duration_s
    except AudioError as exc:
        raise AudioError(public_message(exc, path, name)) from None
