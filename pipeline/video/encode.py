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

import cv2
import numpy as np

from pipeline.errors import OutputError
from pipeline.progress import SILENT, Progress

AUDIO_RATE_HZ = 48_000
AUDIO_BITRATE = "192k"
AUDIO_CHANNELS = 2
FRAME_QUEUE = 4              # frames buffered between the renderer and the writer thread
PIX_FMTS = ("rgb24", "yuv420p")  # frame layouts the pipe takes: RGB, or planar I420 (see rgb_to_i420)
# BT.709, limited ("tv") range, as uint8 RGB -> Y, Cb, Cr: what ffmpeg's
# scale=out_color_matrix=bt709:out_range=tv computes. Last column: the offset.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
BT709_TV = np.array([
    [219 / 255 * _KR, 219 / 255 * _KG, 219 / 255 * _KB, 16.0],
    [-224 / 255 * _KR / (2 - 2 * _KB), -224 / 255 * _KG / (2 - 2 * _KB), 224 / 255 * 0.5, 128.0],
    [224 / 255 * 0.5, -224 / 255 * _KG / (2 - 2 * _KR), -224 / 255 * _KB / (2 - 2 * _KR), 128.0],
], np.float32)
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


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 [h, w, 3] (h, w even) -> I420 [h * 3 // 2, w]: Y, then Cb and Cr at half size.

    BT.709 limited range, as the rgb24 pipe path converts (within a grey level: measured
    against ffmpeg's own conversion; chroma here is each 2x2 block's mean).
    """
    h, w = rgb.shape[:2]
    out = np.empty((h * 3 // 2, w), np.uint8)
    y, cb, cr = i420_planes(out, w, h)
    rgb_to_yuv420(rgb, y, cb, cr)
    return out


def rgb_to_yuv420(rgb: np.ndarray, y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> None:
    """Convert RGB uint8 [h, w, 3] (h, w even) into the planes y [h, w], cb and cr [h/2, w/2]
    (views into an I420 frame, say: the place of a changed box)."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"I420 needs even sizes, got {w}x{h}")
    # cv2.transform rounds and saturates to uint8 itself; its 3 -> 3 channel path is several
    # times faster than any other shape, so all three are computed at full size and the
    # chroma averaged over 2x2 blocks after.
    yuv = cv2.transform(rgb, BT709_TV)
    y[...] = cv2.extractChannel(yuv, 0)
    half = cv2.resize(yuv, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    cb[...] = cv2.extractChannel(half, 1)
    cr[...] = cv2.extractChannel(half, 2)


def i420_planes(frame: np.ndarray, width_px: int, height_px: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of an I420 frame [h * 3 // 2, w]: Y [h, w], Cb and Cr [h/2, w/2]."""
    h, w = height_px, width_px
    flat = frame.reshape(-1)
    q = (h // 2) * (w // 2)
    return (flat[:h * w].reshape(h, w), flat[h * w:h * w + q].reshape(h // 2, w // 2),
            flat[h * w + q:].reshape(h // 2, w // 2))


def frame_shape(pix_fmt: str, width_px: int, height_px: int) -> tuple[int, ...]:
    """The array shape of one frame in the pipe layout `pix_fmt` (uint8)."""
    if pix_fmt == "rgb24":
        return (height_px, width_px, 3)
    if pix_fmt == "yuv420p":
        return (height_px * 3 // 2, width_px)
    raise ValueError(f"pix_fmt must be one of {PIX_FMTS}, got {pix_fmt!r}")


def _video_filters(ass_path: str | Path | None, fonts_dir: str | Path | None,
                   offset_s: float = 0.0, pix_fmt: str = "rgb24") -> str:
    filters = []
    if pix_fmt == "yuv420p":
        # Frames already in BT.709 limited range: say so, so libass converts caption colours
        # with the same matrix, and nothing is converted again.
        filters.append("setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv")
    if ass_path is not None:
        ass = f"ass=filename={filter_escape(str(ass_path))}"
        if fonts_dir is not None:
            ass += f":fontsdir={filter_escape(str(fonts_dir))}"
        if offset_s > 0:
            # A chunk's frames start at 0: shift them to their place in the whole video for
            # libass to pick the right captions, then back so the segment starts at 0.
            ass = f"setpts=PTS+{offset_s!r}/TB,{ass},setpts=PTS-STARTPTS"
        filters.append(ass)
    if pix_fmt == "rgb24":
        # Captions are drawn on the RGB frames; then one explicit BT.709 conversion, tagged
        # below, so players show the colours we rendered.
        filters.append("scale=out_color_matrix=bt709:out_range=tv,format=yuv420p")
    else:
        filters.append("format=yuv420p")
    return ",".join(filters)


def _x264_args(fps: float, crf: int, preset: str) -> list[str]:
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-g", str(max(1, round(2 * fps))),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-color_range", "tv",
    ]


def _audio_filter(n_frames: int, fps: float) -> str:
    # The audio is padded with silence / cut to exactly the video's length, to the sample.
    n_samples = round(n_frames / fps * AUDIO_RATE_HZ)
    return f"aresample={AUDIO_RATE_HZ},apad=whole_len={n_samples},atrim=end_sample={n_samples}"


def _aac_args() -> list[str]:
    return ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE_HZ),
            "-ac", str(AUDIO_CHANNELS)]


def _rawvideo_input(fps: float, width_px: int, height_px: int, pix_fmt: str = "rgb24") -> list[str]:
    frame_shape(pix_fmt, width_px, height_px)   # a bad pix_fmt fails here, not in ffmpeg
    return [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width_px}x{height_px}",
        "-r", _fps_text(fps), "-i", "pipe:0",
    ]


def ffmpeg_command(audio_path: str | Path | None, out_path: str | Path, fps: float,
                   width_px: int, height_px: int, n_frames: int,
                   ass_path: str | Path | None = None, fonts_dir: str | Path | None = None,
                   crf: int = 20, preset: str = "veryfast", pix_fmt: str = "rgb24") -> list[str]:
    cmd = _rawvideo_input(fps, width_px, height_px, pix_fmt)
    if audio_path is None:
        cmd += ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE_HZ}:cl=stereo"]
    else:
        cmd += ["-i", str(audio_path)]
    cmd += [
        "-map", "0:v:0", "-map", "1:a:0",
        "-vf", _video_filters(ass_path, fonts_dir, pix_fmt=pix_fmt),
        *_x264_args(fps, crf, preset),
        "-af", _audio_filter(n_frames, fps), *_aac_args(),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    ]
    return cmd


def segment_command(out_path: str | Path, fps: float, width_px: int, height_px: int,
                    ass_path: str | Path | None = None, fonts_dir: str | Path | None = None,
                    offset_s: float = 0.0, crf: int = 20, preset: str = "veryfast",
                    pix_fmt: str = "rgb24") -> list[str]:
    """Video only: one chunk of a longer video, captions placed as if it started at offset_s."""
    return [
        *_rawvideo_input(fps, width_px, height_px, pix_fmt),
        "-map", "0:v:0", "-vf", _video_filters(ass_path, fonts_dir, offset_s, pix_fmt),
        *_x264_args(fps, crf, preset), "-an", "-f", "mp4", str(out_path),
    ]


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


def _partial_path(out: Path) -> Path:
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.partial-",
                                    suffix=out.suffix)
    os.close(fd)
    return Path(tmp_name)


def _publish(tmp: Path, out: Path) -> Path:
    # mkstemp makes the file private (0600); a finished video gets the usual mode.
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, out)
    return out


def _run_ffmpeg(cmd: list[str], out: Path) -> None:
    """Run an ffmpeg command that reads no frames; RuntimeError with its message on failure."""
    with tempfile.TemporaryFile() as stderr_file:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr_file, start_new_session=True)
        try:
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if rc != 0:
            raise RuntimeError(
                f"ffmpeg failed (exit code {rc}) writing {out}:\n{_stderr_tail(stderr_file)}"
            )


def _stream(frames: Iterable[np.ndarray], n_frames: int, cmd: list[str], tmp: Path, out: Path,
            expected_shape: tuple[int, int, int], progress: Progress) -> Path:
    """Pipe exactly n_frames into `cmd` (which writes tmp); publish tmp as out on success."""
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
            return _publish(tmp, out)
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


def _default_fonts(ass_path: str | Path | None, fonts_dir: str | Path | None) -> str | Path | None:
    if ass_path is not None and fonts_dir is None:
        from pipeline.video.captions import fonts_dir as default_fonts_dir

        return default_fonts_dir()
    return fonts_dir


def encode(frames: Iterable[np.ndarray], n_frames: int, audio_wav_path: str | Path | None,
           out_path: str | Path, fps: float, width_px: int, height_px: int,
           ass_path: str | Path | None = None, fonts_dir: str | Path | None = None,
           crf: int = 20, preset: str = "veryfast", progress: Progress = SILENT,
           pix_fmt: str = "rgb24") -> Path:
    """Encode exactly n_frames RGB uint8 frames (height x width x 3) with the audio into an MP4.

    With pix_fmt="yuv420p" the frames are I420 instead (see rgb_to_i420): half the bytes,
    and ffmpeg converts nothing.

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
    tmp = _partial_path(out)
    cmd = ffmpeg_command(audio_wav_path, tmp, fps, width_px, height_px, n_frames,
                         ass_path=ass_path, fonts_dir=_default_fonts(ass_path, fonts_dir),
                         crf=crf, preset=preset, pix_fmt=pix_fmt)
    return _stream(frames, n_frames, cmd, tmp, out, frame_shape(pix_fmt, width_px, height_px),
                   progress)


def encode_segment(frames: Iterable[np.ndarray], n_frames: int, out_path: str | Path, fps: float,
                   width_px: int, height_px: int, ass_path: str | Path | None = None,
                   fonts_dir: str | Path | None = None, offset_s: float = 0.0, crf: int = 20,
                   preset: str = "veryfast", progress: Progress = SILENT,
                   pix_fmt: str = "rgb24") -> Path:
    """Encode n_frames RGB frames into a video-only MP4 segment, captions shifted by offset_s.

    pix_fmt="yuv420p": the frames are I420 arrays (see rgb_to_i420) instead of RGB.

    The segment appears at out_path only once complete (written beside it, then renamed).
    """
    out = Path(out_path)
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    tmp = _partial_path(out)
    cmd = segment_command(tmp, fps, width_px, height_px, ass_path=ass_path,
                          fonts_dir=_default_fonts(ass_path, fonts_dir), offset_s=offset_s,
                          crf=crf, preset=preset, pix_fmt=pix_fmt)
    return _stream(frames, n_frames, cmd, tmp, out, frame_shape(pix_fmt, width_px, height_px),
                   progress)


class AudioEncode:
    """AAC audio (.m4a) exactly n_frames / fps long, encoded by ffmpeg in the background.

    Started at once so it overlaps the frames; `finish()` waits and moves the file into place,
    `cancel()` stops it and leaves nothing. The input is raw float32 mono samples (a file
    written with ndarray.tofile, so the audio is never copied in memory) or a WAV file.
    """

    def __init__(self, source: str | Path | None, out_path: str | Path, n_frames: int, fps: float,
                 sample_rate_hz: int | None = None):
        self.out = Path(out_path)
        self.tmp = _partial_path(self.out)
        if source is None:
            inp = ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE_HZ}:cl=stereo"]
        elif sample_rate_hz is not None:
            inp = ["-f", "f32le", "-ar", str(int(sample_rate_hz)), "-ac", "1", "-i", str(source)]
        else:
            inp = ["-i", str(source)]
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inp,
               "-map", "0:a:0", "-af", _audio_filter(n_frames, fps), *_aac_args(),
               "-vn", "-f", "mp4", str(self.tmp)]
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self._stderr, start_new_session=True)
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        self._stderr.close()
        self.tmp.unlink(missing_ok=True)

    def finish(self) -> Path:
        try:
            rc = self.proc.wait()
            if rc != 0:
                raise RuntimeError(f"ffmpeg failed (exit code {rc}) writing {self.out}:\n"
                                   f"{_stderr_tail(self._stderr)}")
            return _publish(self.tmp, self.out)
        except BaseException:
            self.cancel()
            raise
        finally:
            self._close()

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close()


def encode_audio(source: str | Path | None, out_path: str | Path, n_frames: int, fps: float,
                 sample_rate_hz: int | None = None) -> Path:
    """AAC audio exactly n_frames / fps long: padded with silence or cut, to the sample."""
    return AudioEncode(source, out_path, n_frames, fps, sample_rate_hz).finish()


def _concat_quote(path: Path) -> str:
    # ffconcat: inside single quotes, a quote is written as '\\''.
    return "'" + str(path).replace("'", "'\\''") + "'"


def concat_mux(segment_paths: list[Path], audio_path: str | Path, out_path: str | Path,
               list_path: str | Path) -> Path:
    """Join video segments (same settings) end to end and add the audio, without re-encoding.

    The concat demuxer copies the H.264 packets as they are; every segment starts on a
    keyframe, so the joins are exact. out_path appears only when complete.
    """
    out = Path(out_path)
    lines = [f"file {_concat_quote(Path(p).resolve())}" for p in segment_paths]
    Path(list_path).write_text("ffconcat version 1.0\n" + "\n".join(lines) + "\n", encoding="utf-8")
    tmp = _partial_path(out)
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "concat", "-safe", "0", "-i", str(list_path), "-i", str(audio_path),
           "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
           "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    try:
        _run_ffmpeg(cmd, out)
        return _publish(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
