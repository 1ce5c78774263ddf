"""Chunked, resumable encoding: a long video is encoded as segments of whole frames.

Each chunk of frames becomes its own video-only segment (same x264 settings, captions
placed at the chunk's offset), finished segments are renamed into place in a work folder
beside the output, and at the end the segments are joined without re-encoding and muxed
with the audio. A render that is interrupted keeps its finished segments; the same render
run again with resume reuses them. The work folder's name is a hash of everything that
decides the pixels and the sound, so a changed input or setting never reuses a stale chunk.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_S = 30.0                # seconds of video per segment
WORK_PREFIX = ".avatar-"      # batch's leftover sweep knows this prefix
KEY_CHARS = 16
FINGERPRINT_FILE = "fingerprint.txt"
FORMAT_VERSION = 1            # bump when segments made by older code must not be reused


@dataclass(frozen=True)
class Chunk:
    index: int
    start_frame: int
    n_frames: int

    @property
    def name(self) -> str:
        # Start and length are in the name: a segment is only reused for the very same frames.
        return f"chunk-{self.index:05d}-{self.start_frame:08d}-{self.n_frames:06d}.mp4"

    def offset_s(self, fps: float) -> float:
        return self.start_frame / fps


def plan_chunks(n_frames: int, fps: float, chunk_s: float | None = None) -> list[Chunk]:
    """Whole-frame chunks of about chunk_s seconds covering frames [0, n_frames)."""
    per_chunk = max(1, round((CHUNK_S if chunk_s is None else chunk_s) * fps))
    return [Chunk(i, start, min(per_chunk, n_frames - start))
            for i, start in enumerate(range(0, n_frames, per_chunk))]


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_key(parts: dict) -> str:
    """Short stable hash of the render's inputs and settings (JSON-able values)."""
    return _digest({"format": FORMAT_VERSION, **parts})[:KEY_CHARS]


def work_dir(out: Path, key: str) -> Path:
    return out.parent / f"{WORK_PREFIX}{key}"


def open_work_dir(out: Path, key: str, fingerprint: str, resume: bool) -> Path:
    """The work folder for this render, ready to hold segments.

    With resume, a folder left by an interrupted run is kept when its fingerprint (a hash of
    the audio and the per-frame tracks actually computed) matches; otherwise it starts empty.
    """
    path = work_dir(out, key)
    stamp = path / FINGERPRINT_FILE
    if path.exists():
        same = resume and stamp.is_file() and stamp.read_text().strip() == fingerprint
        if not same:
            shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n")
    return path


def fingerprint(*arrays) -> str:
    """Hash of the arrays that decide every frame and the sound (tracks, audio)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(memoryview(a.tobytes() if not a.flags.c_contiguous else a).cast("B"))
    return h.hexdigest()


def finished(work: Path, chunks: list[Chunk]) -> list[Chunk]:
    """Chunks whose segment is in place: segments are renamed there only once complete."""
    return [c for c in chunks if (work / c.name).is_file()]


def has_finished_chunks(work: Path) -> bool:
    return work.is_dir() and any(work.glob("chunk-*.mp4"))


def remaining(work: Path, chunks: list[Chunk]) -> Iterator[Chunk]:
    done = {c.index for c in finished(work, chunks)}
    return (c for c in chunks if c.index not in done)
