"""Pitch accents from the speech audio: where the voice rises to a peak with energy behind it.

F0 comes from WORLD's DIO (pyworld), in semitones about the speaker's median so the same
thresholds work for low and high voices; energy is the frame RMS in dB below the loud
frames. An accent is a local F0 peak that stands out from the pitch around it (rising into
it, falling after it) on a loud enough frame. Head nods and brow raises follow accents
(head.py), lagging them by about 30 ms (DESIGN.md).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from pipeline.motion.shapes import bump_span

FRAME_S = 0.01
DIO_SPEED = 4                 # DIO decimates internally (to ~5 kHz at 22 kHz): plenty for 60-400 Hz
F0_RANGE_HZ = (60.0, 400.0)
ENERGY_WINDOW_S = 0.025
LOUD_PERCENTILE = 95.0        # energy is measured in dB below this percentile of the frames
MIN_VOICED_S = 0.05           # shorter voiced runs are DIO noise
BRIDGE_S = 0.15               # unvoiced gaps this short (a consonant) are bridged by the contour
SMOOTH_S = 0.03               # Gaussian sigma of the contour smoothing
OCTAVE_JUMP_ST = 8.0          # further than this from the median is an octave error
RISE_WINDOW_S = 0.35          # the rise into an accent is measured over this much before it...
FALL_WINDOW_S = 0.25          # ...and the fall after it over this much
MIN_PROMINENCE_ST = 1.0       # an accent stands out by at least this
FULL_PROMINENCE_ST = 4.0      # and counts fully from this
MIN_ENERGY_DB = -24.0         # quieter frames (below the loud ones) carry no accent
MIN_ACCENT_GAP_S = 0.35       # one accent per stressed syllable
# F0 and energy are measured block by block, so an hour of speech never has a float64 copy:
# each block reaches BLOCK_PAD_S into its neighbours (DIO and StoneMask look that far at most).
BLOCK_S = 20.0
BLOCK_PAD_S = 0.5
# The shape of one accent in the accent signal: up over RISE before the F0 peak, down over FALL.
ACCENT_RISE_S, ACCENT_FALL_S = 0.15, 0.35


@dataclass(frozen=True)
class Prosody:
    times_s: np.ndarray       # frame centres, FRAME_S apart
    pitch_st: np.ndarray      # smoothed F0 in semitones about the median; nan where unvoiced
    energy_db: np.ndarray     # frame RMS in dB relative to the loud frames (<= ~0)


@dataclass(frozen=True)
class Accent:
    time_s: float             # the F0 peak
    strength: float           # 0..1
    prominence_st: float


def _f0_hz(audio: np.ndarray, sample_rate_hz: int, n: int) -> np.ndarray:
    """F0 every FRAME_S (0 where unvoiced), n frames, measured in padded blocks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # pyworld imports pkg_resources, which warns
        import pyworld
    period_ms = FRAME_S * 1000.0
    block_n, pad_n = int(round(BLOCK_S / FRAME_S)), int(round(BLOCK_PAD_S / FRAME_S))
    hop = FRAME_S * sample_rate_hz
    f0 = np.zeros(n)
    for first in range(0, n, block_n):
        last = min(first + block_n, n)
        lo = max(first - pad_n, 0)
        a, b = int(round(lo * hop)), min(int(round((last + pad_n) * hop)), len(audio))
        x = np.asarray(audio[a:b], dtype=np.float64)
        raw, t = pyworld.dio(x, sample_rate_hz, f0_floor=F0_RANGE_HZ[0], f0_ceil=F0_RANGE_HZ[1],
                             frame_period=period_ms, speed=DIO_SPEED)
        block = pyworld.stonemask(x, raw, t, sample_rate_hz)[first - lo:first - lo + last - first]
        f0[first:first + len(block)] = block
    return f0


def _energy_db(audio: np.ndarray, sample_rate_hz: int, times_s: np.ndarray) -> np.ndarray:
    half = 0.5 * ENERGY_WINDOW_S * sample_rate_hz
    a = np.clip((times_s * sample_rate_hz - half).astype(np.int64), 0, len(audio))
    b = np.clip((times_s * sample_rate_hz + half).astype(np.int64), 0, len(audio))
    rms = np.zeros(len(times_s))
    block_n = int(round(BLOCK_S / FRAME_S))
    for first in range(0, len(times_s), block_n):
        sl = slice(first, first + block_n)
        lo, hi = int(a[sl].min()), int(b[sl].max())
        power = np.concatenate([[0.0], np.cumsum(np.asarray(audio[lo:hi], np.float64) ** 2)])
        rms[sl] = np.sqrt((power[b[sl] - lo] - power[a[sl] - lo]) / np.maximum(b[sl] - a[sl], 1))
    db = 20.0 * np.log10(rms + 1e-9)
    return db - np.percentile(db, LOUD_PERCENTILE)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _smooth_contour(st: np.ndarray) -> np.ndarray:
    """Median-clean, bridge short gaps, Gaussian-smooth; nan stays where voicing is absent."""
    voiced = np.isfinite(st)
    for a, b in _runs(voiced):
        if (b - a) * FRAME_S < MIN_VOICED_S:
            voiced[a:b] = False
    st = np.where(voiced, st, np.nan)
    padded = np.pad(st, 2, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-nan windows
        st = np.where(voiced, np.nanmedian(windows, axis=1), np.nan)
    # bridge short unvoiced gaps between voiced runs
    idx = np.arange(len(st))
    for a, b in _runs(~voiced):
        if a > 0 and b < len(st) and (b - a) * FRAME_S <= BRIDGE_S:
            st[a:b] = np.interp(idx[a:b], [a - 1, b], [st[a - 1], st[b]])
    known = np.isfinite(st)
    sigma = SMOOTH_S / FRAME_S
    k = np.exp(-0.5 * (np.arange(-3 * int(sigma), 3 * int(sigma) + 1) / sigma) ** 2)
    num = np.convolve(np.where(known, st, 0.0), k, mode="same")
    den = np.convolve(known.astype(np.float64), k, mode="same")
    return np.where(known, num / np.maximum(den, 1e-9), np.nan)


def analyze(audio: np.ndarray, sample_rate_hz: int) -> Prosody:
    """Pitch (semitones about the speaker's median) and energy, every FRAME_S."""
    audio = np.asarray(audio).reshape(-1)
    n = int(len(audio) / sample_rate_hz / FRAME_S)
    times_s = np.arange(n) * FRAME_S
    if n < 3:
        return Prosody(times_s, np.full(n, np.nan), np.zeros(n))
    f0 = _f0_hz(audio, sample_rate_hz, n)
    voiced = f0 > 0
    st = np.full(n, np.nan)
    if voiced.sum() >= 3:
        st[voiced] = 12.0 * np.log2(f0[voiced] / np.median(f0[voiced]))
        # DIO's octave slips: fold them back towards the median
        far = np.abs(st) > OCTAVE_JUMP_ST
        st[far] -= 12.0 * np.round(st[far] / 12.0)
        st = _smooth_contour(st)
    return Prosody(times_s, st, _energy_db(audio, sample_rate_hz, times_s))


def find_accents(prosody: Prosody) -> list[Accent]:
    """Local F0 peaks that rise above and fall below their surroundings, on loud frames."""
    st, e = prosody.pitch_st, prosody.energy_db
    n = len(st)
    rise_n, fall_n = int(RISE_WINDOW_S / FRAME_S), int(FALL_WINDOW_S / FRAME_S)
    candidates = []
    for i in range(1, n - 1):
        if not (np.isfinite(st[i]) and e[i] >= MIN_ENERGY_DB):
            continue
        before, after = st[i - 1], st[i + 1]
        if not ((np.isnan(before) or st[i] >= before) and (np.isnan(after) or st[i] > after)):
            continue
        left = st[max(0, i - rise_n):i]
        right = st[i + 1:i + 1 + fall_n]
        left, right = left[np.isfinite(left)], right[np.isfinite(right)]
        rise = st[i] - left.min() if len(left) else np.nan
        fall = st[i] - right.min() if len(right) else np.nan
        if np.isnan(rise) and np.isnan(fall):
            continue
        # an accent at the edge of voicing is judged by the side it has
        prominence = float(np.nanmean([rise, fall]))
        if prominence < MIN_PROMINENCE_ST:
            continue
        loud = float(np.clip((e[i] - MIN_ENERGY_DB) / -MIN_ENERGY_DB, 0.0, 1.0))
        strength = float(np.clip(prominence / FULL_PROMINENCE_ST, 0.0, 1.0)) * (0.5 + 0.5 * loud)
        candidates.append(Accent(float(prosody.times_s[i]), strength, prominence))
    kept: list[Accent] = []
    for a in sorted(candidates, key=lambda a: -a.strength):
        if all(abs(a.time_s - k.time_s) >= MIN_ACCENT_GAP_S for k in kept):
            kept.append(a)
    return sorted(kept, key=lambda a: a.time_s)


def accents(audio: np.ndarray, sample_rate_hz: int) -> list[Accent]:
    return find_accents(analyze(audio, sample_rate_hz))


def accent_signal(times_s: np.ndarray, accents_: list[Accent]) -> np.ndarray:
    """Sum of accent shapes (apex = strength at the F0 peak): what the head follows, lagged."""
    out = np.zeros(len(times_s))
    for a in accents_:
        span, shape = bump_span(times_s, a.time_s - ACCENT_RISE_S, ACCENT_RISE_S, 0.0, ACCENT_FALL_S)
        out[span] += a.strength * shape
    return out
