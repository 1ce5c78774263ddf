"""What is inside a media file, measured with ffmpeg alone (imageio-ffmpeg ships no ffprobe).

Stream properties come from `ffmpeg -i` (its header on stderr); frame counts and exact
durations come from decoding every packet into ffmpeg's `framecrc` listing.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from pipeline.video.encode import ffmpeg_exe

STDERR_TAIL_CHARS = 2000

_VIDEO_LINE = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+)(.*)")
_AUDIO_LINE = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)(.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_RATE = re.compile(r"(\d+) Hz")
_CHANNELS = re.compile(r"Hz, ([^,]+),")


@dataclass(frozen=True)
class MediaInfo:
    video_codec: str | None
    width: int                 # pixels
    height: int
    fps: float
    n_frames: int
    video_duration_s: float
    pix_fmt: str | None
    audio_codec: str | None
    audio_sample_rate_hz: int
    audio_duration_s: float
    audio_channels: str | None = None


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)


def _header(path: Path) -> str:
    # `ffmpeg -i` without an output exits 1 by design after printing the header.
    return _run([ffmpeg_exe(), "-hide_banner", "-i", str(path)]).stderr.decode("utf-8", "replace")


def _check_exists(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such media file: {path}")
    return path


def _parse_pix_fmt(rest: str) -> str | None:
    # rest looks like " (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1080x1920..."
    depth = 0
    fields, current = [], ""
    for ch in rest:
        if ch == "(":
            depth += 1
            continue
        if ch == ")":
            depth -= 1
            continue
        if ch == "," and depth == 0:
            fields.append(current)
            current = ""
            continue
        current += ch if depth == 0 else ""
    fields.append(current)
    return fields[1].strip() if len(fields) > 1 and fields[1].strip() else None


def probe(path: str | Path) -> MediaInfo:
    """Codecs, size, frame rate, pixel format, and decoded frame count and durations."""
    path = _check_exists(path)
    header = _header(path)
    video_codec = audio_codec = pix_fmt = channels = None
    width = height = rate = 0
    fps = 0.0
    for line in header.splitlines():
        if video_codec is None and (m := _VIDEO_LINE.search(line)):
            video_codec, rest = m.group(1), m.group(2)
            if s := _SIZE.search(rest):
                width, height = int(s.group(1)), int(s.group(2))
            if f := _FPS.search(rest):
                fps = float(f.group(1)) * (1000 if f.group(2) else 1)
            pix_fmt = _parse_pix_fmt(rest)
        elif audio_codec is None and (m := _AUDIO_LINE.search(line)):
            audio_codec, rest = m.group(1), m.group(2)
            if r := _RATE.search(rest):
                rate = int(r.group(1))
            if c := _CHANNELS.search(rest):
                channels = c.group(1).strip()
    if video_codec is None and audio_codec is None:
        tail = header[-STDERR_TAIL_CHARS:].strip()
        raise RuntimeError(f"ffmpeg found no audio or video in {path}:\n{tail}")

    # Decode everything; framecrc lists each decoded frame with pts and duration.
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)]
    if video_codec:
        cmd += ["-map", "0:v:0"]
    if audio_codec:
        cmd += ["-map", "0:a:0"]
    result = _run(cmd + ["-f", "framecrc", "-"])
    if result.returncode != 0:
        tail = result.stderr.decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]
        raise RuntimeError(f"ffmpeg could not decode {path}:\n{tail}")
    time_base: dict[int, Fraction] = {}
    kind: dict[int, str] = {}
    counts: dict[int, int] = {}
    first: dict[int, int] = {}
    last_end: dict[int, int] = {}
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("#tb "):
            idx, tb = line[4:].split(":")
            time_base[int(idx)] = Fraction(tb.strip())
        elif line.startswith("#media_type "):
            idx, media = line[12:].split(":")
            kind[int(idx)] = media.strip()
        elif line and not line.startswith("#"):
            parts = [p.strip() for p in line.split(",")]
            idx, pts, duration = int(parts[0]), int(parts[2]), int(parts[3])
            counts[idx] = counts.get(idx, 0) + 1
            first.setdefault(idx, pts)
            last_end[idx] = max(last_end.get(idx, pts + duration), pts + duration)

    def stream(media: str) -> int | None:
        return next((i for i, k in kind.items() if k == media), None)

    def duration_s(idx: int | None) -> float:
        if idx is None or idx not in counts:
            return 0.0
        return float((last_end[idx] - first[idx]) * time_base[idx])

    v, a = stream("video"), stream("audio")
    return MediaInfo(
        video_codec=video_codec, width=width, height=height, fps=fps,
        n_frames=counts.get(v, 0) if v is not None else 0,
        video_duration_s=duration_s(v), pix_fmt=pix_fmt,
        audio_codec=audio_codec, audio_sample_rate_hz=rate,
        audio_duration_s=duration_s(a), audio_channels=channels,
    )


def read_frames(path: str | Path, every_n: int = 1,
                size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Decode RGB uint8 frames (height x width x 3): every every_n-th frame from the first,
    resized to size = (width, height) when given."""
    path = _check_exists(path)
    if size is None:
        header = _header(path)
        m = next((m for line in header.splitlines() if (m := _VIDEO_LINE.search(line))), None)
        s = _SIZE.search(m.group(2)) if m else None
        if s is None:
            raise RuntimeError(f"no video stream found in {path}")
        width, height = int(s.group(1)), int(s.group(2))
    else:
        width, height = size
    filters = []
    if every_n > 1:
        filters.append(f"select=not(mod(n\\,{int(every_n)}))")
    if size is not None:
        filters.append(f"scale={width}:{height}:flags=area")
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-map", "0:v:0"]
    if filters:
        cmd += ["-vf", ",".join(filters)]
    cmd += ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    frame_bytes = width * height * 3
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        while True:
            buf = bytearray(frame_bytes)
            view = memoryview(buf)
            got = 0
            while got < frame_bytes:
                n = proc.stdout.readinto(view[got:])
                if not n:
                    break
                got += n
            if got < frame_bytes:
                break
            yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
        stderr = proc.stderr.read()
        if proc.wait() != 0:
            tail = stderr.decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]
            raise RuntimeError(f"ffmpeg could not decode {path}:\n{tail}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def read_audio(path: str | Path, sample_rate_hz: int = 16_000) -> np.ndarray:
    """Decode the first audio stream as mono float32 at sample_rate_hz."""
    path = _check_exists(path)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-map", "0:a:0", "-ac", "1", "-ar", str(int(sample_rate_hz)), "-f", "f32le", "pipe:1"]
    result = _run(cmd)
    if result.returncode != 0:
        tail = result.stderr.decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]
        raise RuntimeError(f"ffmpeg could not read audio from {path}:\n{tail}")
    return np.frombuffer(result.stdout, np.float32).copy()
