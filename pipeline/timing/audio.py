"""Audio helpers for the timing stage: 16 kHz resampling and a cheap loudness envelope."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly

SAMPLE_RATE_HZ = 16000   # what both Whisper and the pocketsphinx en-us model expect
FRAME_S = 0.01           # pocketsphinx's frame step; also the envelope's
RESAMPLE_BLOCK_S = 30    # to_16k's block; the filter reaches under 10 periods either side,
RESAMPLE_PAD_PERIODS = 16  # so each block carries 16 periods of real signal on each side
DB_BLOCK_FRAMES = 6000   # frame_db's block: a minute


def to_16k(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mono float32 at 16 kHz. Polyphase filtering keeps the band edge clean (no aliasing into 0-8 kHz)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if sample_rate_hz == SAMPLE_RATE_HZ:
        return np.ascontiguousarray(audio)
    g = gcd(int(sample_rate_hz), SAMPLE_RATE_HZ)
    up, down = SAMPLE_RATE_HZ // g, int(sample_rate_hz) // g
    n_out = -(-len(audio) * up // down)
    # In blocks: resample_poly works in float64, and an hour in one call held three copies
    # of it (over 1 GB). Blocks start on whole filter periods (`down` inputs, `up` outputs)
    # and carry enough real signal on each side for the filter, so the output is the same.
    block_in = down * max(1, RESAMPLE_BLOCK_S * int(sample_rate_hz) // down)
    pad_in = down * RESAMPLE_PAD_PERIODS
    out = np.empty(n_out, np.float32)
    for start in range(0, len(audio), block_in):
        lo = max(start - pad_in, 0)
        hi = min(start + block_in + pad_in, len(audio))
        part = resample_poly(audio[lo:hi], up, down)
        skip = (start - lo) // down * up
        want = min(block_in // down * up, n_out - start // down * up)
        out[start // down * up:start // down * up + want] = part[skip:skip + want]
    return out


def to_pcm16(audio_16k: np.ndarray) -> bytes:
    return (np.clip(audio_16k, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def frame_db(audio_16k: np.ndarray) -> np.ndarray:
    """RMS level per 10 ms frame in dB relative to full scale."""
    hop = int(SAMPLE_RATE_HZ * FRAME_S)
    n = len(audio_16k) // hop
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    out = np.empty(n, np.float32)
    # A block of frames at a time: float64 squares of an hour of audio would be 0.9 GB.
    for lo in range(0, n, DB_BLOCK_FRAMES):
        hi = min(lo + DB_BLOCK_FRAMES, n)
        frames = audio_16k[lo * hop:hi * hop].reshape(hi - lo, hop).astype(np.float64)
        out[lo:hi] = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
    return out


def speech_span_s(audio_16k: np.ndarray, floor_db: float = 35.0) -> tuple[float, float] | None:
    """First and last moment louder than `floor_db` below the loudest frame, or None for silence."""
    db = frame_db(audio_16k)
    if len(db) == 0 or db.max() < -60.0:
        return None
    loud = np.flatnonzero(db > db.max() - floor_db)
    return float(loud[0] * FRAME_S), float((loud[-1] + 1) * FRAME_S)
