"""Audio helpers for the timing stage: 16 kHz resampling and a cheap loudness envelope."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly

SAMPLE_RATE_HZ = 16000   # what both Whisper and the pocketsphinx en-us model expect
FRAME_S = 0.01           # pocketsphinx's frame step; also the envelope's


def to_16k(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mono float32 at 16 kHz. Polyphase filtering keeps the band edge clean (no aliasing into 0-8 kHz)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if sample_rate_hz == SAMPLE_RATE_HZ:
        return np.ascontiguousarray(audio)
    g = gcd(int(sample_rate_hz), SAMPLE_RATE_HZ)
    out = resample_poly(audio, SAMPLE_RATE_HZ // g, int(sample_rate_hz) // g)
    return out.astype(np.float32)


def to_pcm16(audio_16k: np.ndarray) -> bytes:
    return (np.clip(audio_16k, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def frame_db(audio_16k: np.ndarray) -> np.ndarray:
    """RMS level per 10 ms frame in dB relative to full scale."""
    hop = int(SAMPLE_RATE_HZ * FRAME_S)
    n = len(audio_16k) // hop
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    frames = audio_16k[: n * hop].reshape(n, hop).astype(np.float64)
    return (10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-10)).astype(np.float32)


def speech_span_s(audio_16k: np.ndarray, floor_db: float = 35.0) -> tuple[float, float] | None:
    """First and last moment louder than `floor_db` below the loudest frame, or None for silence."""
    db = frame_db(audio_16k)
    if len(db) == 0 or db.max() < -60.0:
        return None
    loud = np.flatnonzero(db > db.max() - floor_db)
    return float(loud[0] * FRAME_S), float((loud[-1] + 1) * FRAME_S)
