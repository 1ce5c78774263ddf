"""Frames + audio -> H.264/AAC MP4 through an ffmpeg pipe, captions burned in by libass.

Frames are streamed (never held in memory), written by a thread so that Python renders
the next frame while ffmpeg encodes. Output goes to a hidden temporary file beside the
target and is renamed onto it only when ffmpeg succeeded: no half-written videos.
"""

from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np

from pipeline.errors import OutputError
from pipeline.progress import SILENT, Progress

AUDIO_RATE_HZ = 48_000
AUDIO_BITRATE = "192k"
AUDIO_CHANNELS = 2
FRAME_QUEUE = 4              # frames buffered between the renderer and the writer thread
STDERR_TAIL_CHARS = 2000


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def check_writable(out_path: str | Path) -> Path:
    """Make sure a video can be written at out_path before any work is done.

    Missing parent folders are created. Raises OutputError naming the path and the fix.
    """
    out = Path(out_path).expanduser()
    if out.is_dir():
        raise OutputError(
            f"The output path {out} is a folder. Give a file name for the video, "
            f"e.g. {out / 'video.mp4'}."
        )
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(
            f"Cannot create the folder {parent} for the output video "
            f"({e.strerror or e}). Choose an output path inside a folder you can write to."
        ) from e
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{out.name}.check-"):
            pass
    except OSError as e:
        raise OutputError(
            f"Cannot write the output video to {parent} ({e.strerror or e}). "
            "Choose an output path inside a folder you can write to, or free some disk space."
        ) from e
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(
            f"The output file {out} exists and is read-only. Delete it, make it writable, "
            "or choose another output path."
        )
    return out


def filter_escape(value: str) -> str:
    """Escape a filter option value for an ffmpeg filtergraph (both escaping levels)."""
    for ch in "\\':":
        value = value.replace(ch, "\\" + ch)
    for ch in "\\'[],;":
        value = value.replace(ch, "\\" + ch)
    return value


def _fps_text(fps: float) -> str:
    f = Fraction(fps).limit_denominator(1001)
    return f"{f.numerator}/{f.denominator}"


def ffmpeg_command(audio_path: str | Path | None, out_path: str | Path, fps: float,
                   width_px: int, height_px: int, n_frames: int,
                   ass_path: str | Path | None = None, fonts_dir: str | Path | None = None,
                   crf: int = 20, preset: str = "veryfast") -> list[str]:
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width_px}x{height_px}",
        "-r", _fps_text(fps), "-i", "pipe:0",
    ]
    if audio_path is None:
        cmd += ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE_HZ}:cl=stereo"]
    else:
        cmd += ["-i", str(audio_path)]

    video_filters = []
    if ass_path is not None:
        ass = f"ass=filename={filter_escape(str(ass_path))}"
        if fonts_dir is not None:
            ass += f":fontsdir={filter_escape(str(fonts_dir))}"
        video_filters.append(ass)
    # Captions are drawn on the RGB frames; then one explicit BT.709 conversion, tagged below,
    # so players show the colours we rendered.
    video_filters.append("scale=out_color_matrix=bt709:out_range=tv,format=yuv420p")
    # The audio is padded with silence / cut to exactly the video's length, to the sample.
    n_samples = round(n_frames / fps * AUDIO_RATE_HZ)
    audio_filter = (
        f"aresample={AUDIO_RATE_HZ},apad=whole_len={n_samples},atrim=end_sample={n_samples}"
    )
    cmd += [
        "-map", "0:v:0", "-map", "1:a:0",
        "-vf", ",".join(video_filters),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-g", str(max(1, round(2 * fps))),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-color_range", "tv",
        "-af", audio_filter,
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE_HZ),
        "-ac", str(AUDIO_CHANNELS),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    ]
    return cmd


def _stderr_tail(stderr_file) -> str:
    try:
        stderr_file.seek(0)
        text = stderr_file.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    return text[-STDERR_TAIL_CHARS:].strip()


def _writer(proc: subprocess.Popen, frames: queue.Queue, errors: list) -> None:
    """Feed frames to ffmpeg until the None sentinel; record a broken pipe instead of dying."""
    try:
        while True:
            frame = frames.get()
            if frame is None:
                break
            proc.stdin.write(memoryview(frame).cast("B"))
    except (BrokenPipeError, OSError, ValueError) as e:
        errors.append(e)
        # Keep draining so the producer never blocks on a full queue.
        while frames.get() is not None:
            pass


def encode(frames: Iterable[np.ndarray], n_frames: int, audio_wav_path: str | Path | None,
           out_path: str | Path, fps: float, width_px: int, height_px: int,
           ass_path: str | Path | None = None, fonts_dir: str | Path | None = None,
           crf: int = 20, preset: str = "veryfast", progress: Progress = SILENT) -> Path:
    """Encode exactly n_frames RGB uint8 frames (height x width x 3) with the audio into an MP4.

    The audio is padded or trimmed to n_frames / fps. Captions from ass_path are burned in,
    with fonts looked up in fonts_dir (by default matplotlib's DejaVu fonts, which
    write_ass measures with). Raises OutputError before any frame is pulled when
    out_path cannot be written, ValueError when the frames don't match the promise,
    RuntimeError with ffmpeg's message when ffmpeg fails. On any failure or interrupt no
    output (and no temporary file) is left behind.
    """
    out = check_writable(out_path)
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    if audio_wav_path is not None and not Path(audio_wav_path).is_file():
        raise FileNotFoundError(f"audio file not found: {audio_wav_path}")
    if ass_path is not None and not Path(ass_path).is_file():
        raise FileNotFoundError(f"caption file not found: {ass_path}")

    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.partial-",
                                    suffix=".mp4")
    os.close(fd)
    tmp = Path(tmp_name)
    if ass_path is not None and fonts_dir is None:
        from pipeline.video.captions import fonts_dir as default_fonts_dir

        fonts_dir = default_fonts_dir()
    cmd = ffmpeg_command(audio_wav_path, tmp, fps, width_px, height_px, n_frames,
                         ass_path=ass_path, fonts_dir=fonts_dir, crf=crf, preset=preset)
    expected_shape = (height_px, width_px, 3)
    proc = None
    thread = None
    pending: queue.Queue = queue.Queue(maxsize=FRAME_QUEUE)
    write_errors: list = []
    with tempfile.TemporaryFile() as stderr_file:
        try:
            # Its own session: Ctrl-C reaches only us, and we (not ffmpeg, which would
            # finish a playable partial file) decide what happens to the output.
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=stderr_file, bufsize=0, start_new_session=True)
            thread = threading.Thread(target=_writer, args=(proc, pending, write_errors),
                                      name="ffmpeg-writer", daemon=True)
            thread.start()
            count = 0
            for frame in progress.iterate(frames, "encode", total=n_frames, unit="frame"):
                if count >= n_frames:
                    raise ValueError(f"got more frames than the {n_frames} promised")
                if frame.shape != expected_shape or frame.dtype != np.uint8:
                    raise ValueError(
                        f"frame {count} is {frame.dtype} {frame.shape}; "
                        f"expected uint8 {expected_shape}"
                    )
                if write_errors:
                    break   # ffmpeg died: its message is reported below
                pending.put(np.ascontiguousarray(frame))
                count += 1
            pending.put(None)
            thread.join()
            proc.stdin.close()
            rc = proc.wait()
            if rc != 0 or write_errors:
                raise RuntimeError(
                    f"ffmpeg failed (exit code {rc}) writing {out}:\n{_stderr_tail(stderr_file)}"
                )
            if count != n_frames:
                raise ValueError(f"got {count} frames, but {n_frames} were promised")
            # mkstemp makes the file private (0600); a finished video gets the usual mode.
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, out)
            return out
        except BaseException:
            if proc is not None and proc.poll() is None:
                proc.kill()
            if thread is not None and thread.is_alive():
                # Unblock the writer: ffmpeg is dead, so its write fails and it drains to None.
                try:
                    pending.put(None, timeout=5)
                except queue.Full:
                    pass
                thread.join(timeout=5)
            if proc is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
                proc.wait()
            tmp.unlink(missing_ok=True)
            raise


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
