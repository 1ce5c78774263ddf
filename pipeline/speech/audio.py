"""Narration audio in (any format ffmpeg decodes) and WAV out."""

from __future__ import annotations

import subprocess
import threading
import wave
from pathlib import Path

import numpy as np

from pipeline.errors import AudioError
from pipeline.types import Speech

SAMPLE_RATE_HZ = 22050        # the same rate as Piper's voices, so every Speech is alike
MIN_DURATION_S = 0.3
MAX_DURATION_S = 65 * 60  # an hour-long lesson fits; longer belongs in several videos
SILENT_PEAK_DBFS = -50.0      # below this the recording holds nothing audible
SILENT_RMS_DBFS = -65.0
# A recording is the creator's own level; only one far from the -14 LUFS target is corrected
# (a quiet phone recording, say): moving a good recording would only add limiting.
NARRATION_OK_LUFS = (-20.0, -8.0)


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _dbfs(value: float) -> float:
    return 20.0 * np.log10(max(value, 1e-10))


def load_audio(path: str | Path, max_duration_s: float = MAX_DURATION_S) -> Speech:
    """Decode an audio (or video) file to mono float32 at 22050 Hz, refusing unusable input."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"Audio file not found: {path}. Check the path and the file name.")
    if path.stat().st_size == 0:
        raise AudioError(f"Audio file {path} is empty (0 bytes). Record or export the narration again.")
    # Decode at most a second past the limit: a ten-hour file must not be read into memory.
    command = [
        _ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-t", f"{max_duration_s + 1:.3f}",
        "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE_HZ), "-f", "f32le", "pipe:1",
    ]
    audio, returncode, stderr = _decode(command, int((max_duration_s + 1) * SAMPLE_RATE_HZ) + 1)
    if returncode != 0 or audio.size == 0:
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else "no audio stream"
        raise AudioError(
            f"Cannot read {path} as audio ({reason}). The file is damaged or not an audio file: "
            "export the narration again as WAV, FLAC, MP3 or M4A."
        )
    np.clip(audio, -1.0, 1.0, out=audio)
    duration_s = audio.size / SAMPLE_RATE_HZ
    if duration_s > max_duration_s:
        raise AudioError(
            f"{path} is longer than the limit of {max_duration_s / 60:.0f} minutes for one video. "
            "Split the narration into several files and make one video from each."
        )
    if duration_s < MIN_DURATION_S:
        raise AudioError(
            f"{path} is only {duration_s:.2f} s long; at least {MIN_DURATION_S} s of speech is needed. "
            "Use a longer recording."
        )
    peak_dbfs = _dbfs(max(float(audio.max()), -float(audio.min())))   # no |x| copy
    rms_dbfs = _dbfs(float(np.sqrt(_mean_square(audio))))
    if peak_dbfs < SILENT_PEAK_DBFS or rms_dbfs < SILENT_RMS_DBFS:
        raise AudioError(
            f"{path} is silent (peak {peak_dbfs:.0f} dBFS, average {rms_dbfs:.0f} dBFS). Check that the "
            "microphone was on and not muted, then record again, or raise the level before exporting."
        )
    return Speech(audio=level_narration(audio, SAMPLE_RATE_HZ), sample_rate_hz=SAMPLE_RATE_HZ)


def _decode(command: list[str], max_samples: int) -> tuple[np.ndarray, int, bytes]:
    """Run an ffmpeg decode to f32le on stdout, read straight into one float32 array.

    The array is allocated for `max_samples` but only the pages written are ever touched, so
    an hour of narration costs one copy of itself (317 MB), not the pipe's bytes plus a copy.
    """
    buffer = np.empty(max_samples, np.float32)
    view = memoryview(buffer).cast("B")
    filled = 0
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        # stderr is drained beside stdout, or a chatty decoder could fill its pipe and stall.
        stderr_chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)
        reader.start()
        while filled < view.nbytes:
            got = proc.stdout.readinto(view[filled:])
            if not got:
                break
            filled += got
        if filled == view.nbytes:
            proc.kill()   # anything past the limit is refused anyway; no need to decode it
        returncode = proc.wait()
        reader.join()
    n = filled // 4
    return buffer[:n], (0 if filled == view.nbytes else returncode), b"".join(stderr_chunks)


def _mean_square(audio: np.ndarray, block: int = 1 << 20) -> float:
    """Mean of squares in float64, a block at a time (a float64 copy of an hour is 635 MB)."""
    total = sum(float(np.dot(b, b)) for b in
                (audio[s:s + block].astype(np.float64) for s in range(0, audio.size, block)))
    return total / max(audio.size, 1)


def level_narration(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """A recording far too quiet or too loud brought to -14 LUFS; any other left as it is."""
    from pipeline.speech.loudness import loudness_lufs, normalize_loudness

    lufs = loudness_lufs(audio, sample_rate_hz)
    if not np.isfinite(lufs) or NARRATION_OK_LUFS[0] <= lufs <= NARRATION_OK_LUFS[1]:
        return audio
    return normalize_loudness(audio, sample_rate_hz, in_place=True)   # a fresh decode: ours to overwrite


def save_wav(speech: Speech, path: str | Path) -> Path:
    """16-bit PCM mono WAV."""
    path = Path(path)
    pcm = np.clip(np.asarray(speech.audio, dtype=np.float32), -1.0, 1.0)
    pcm16 = np.round(pcm * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(int(speech.sample_rate_hz))
        wav.writeframes(pcm16.tobytes())
    return path
