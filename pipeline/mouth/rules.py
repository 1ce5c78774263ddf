"""Rule-based mouth track from timed phones: dominance blending (Cohen & Massaro 1993).

Each phone pulls every articulation parameter towards its target with a dominance that is
flat over the middle of the phone and decays exponentially outside it: slowly before
the phone (anticipation: the lips head for the next phone ~60-100 ms early, rounding
earliest) and faster after it (carry-over). The value at time t is the dominance-weighted
mean of all targets. Pauses are phones too: a short one targets most of the previous shape
(the mouth holds, softly), a long one pulls hard towards rest, from ~120 ms into the pause,
until the lips part again ahead of the next phrase (PREPARE_LEAD_S before its first phone).

The blend is sampled at FRAME_SUBSAMPLES x fps, smoothed with a triangle two frames wide
(the only smoothing) and read at frame centres; then the hard constraints (p/b/m closed,
f/v tucked) are re-imposed on every frame inside those phones, and on the nearest frame
for a phone shorter than a frame, so no blur can hide a closure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.mouth import targets
from pipeline.mouth.frames import frame_count
from pipeline.types import ARTICULATION, SILENCE, MouthTrack, Phone

FRAME_SUBSAMPLES = 5          # odd, so a subsample sits exactly on every frame centre
PLATEAU_FRACTION = 0.6        # dominance is flat over the middle 60% of a phone
# Exponential falloff time constants (s) per parameter, before and after a phone's plateau.
# A neighbour's pull is ~5% three time constants away: the lips start for the next phone
# ~100 ms early, and rounding (which anticipates across consonants) ~180 ms early.
_ANTICIPATION_S = dict.fromkeys(ARTICULATION, 0.03) | {
    "lip_round": 0.06, "lip_width": 0.045, "lip_press": 0.025, "lip_open": 0.035,
    "jaw_open": 0.035,
}
ANTICIPATION_S = np.array([_ANTICIPATION_S[n] for n in ARTICULATION], dtype=np.float64)
CARRYOVER_S = 0.028
WINDOW_S = 0.7                # over 11 time constants: beyond this a phone no longer pulls

# Pauses
SHORT_PAUSE_S = 0.25          # up to this, the mouth holds the previous shape softly
LONG_PAUSE_S = 0.5            # from this, the mouth relaxes to rest
PAUSE_HOLD_AMOUNT = 0.75      # a short pause keeps this much of the previous shape
PAUSE_HOLD_DOMINANCE = 1.0
PAUSE_REST_DOMINANCE = 3.0
PAUSE_RELAX_S = 0.12          # a long pause's full pull starts this long after it begins
PAUSE_PREPARE_S = 0.10        # ... and ends this long before the next phone
PAUSE_FALLOFF_S = 0.04
# Before speaking again after a breath pause, speakers part the lips and lower the jaw ahead
# of the sound (inhaling through the mouth, setting up the first gesture): both real talking-
# face videos open 0.2-0.5 s before the first phone of a phrase (benchmarks/eval_lipsync.py).
PREPARE_LEAD_S = 0.3          # the mouth starts to part this long before the phrase's first phone
PREPARE_MIN_PAUSE_S = LONG_PAUSE_S  # only after a breath pause; shorter ones hold the last shape
PREPARE_TARGET = {"jaw_open": 0.3, "lip_open": 0.35, "teeth_show": 0.2}
PREPARE_DOMINANCE = 1.5
PREPARE = np.array([PREPARE_TARGET.get(n, 0.0) for n in ARTICULATION], dtype=np.float64)
REST_DOMINANCE = 1e-4         # a faint pull to rest everywhere: defined where nothing speaks


@dataclass(frozen=True)
class _Segment:
    start_s: float
    end_s: float
    plateau_s: tuple[float, float]
    target: np.ndarray        # [K]
    dominance: np.ndarray     # [K]
    before_s: np.ndarray      # [K] anticipation time constants
    after_s: np.ndarray       # [K] carry-over time constants


def _clean(phones: list[Phone], duration_s: float) -> list[tuple[str, float, float]]:
    """Sorted, clipped to the clip, gaps filled with silence, silences merged."""
    spans = sorted(
        ((targets.normalize_label(p.label), max(0.0, p.start_s), min(duration_s, p.end_s))
         for p in phones),
        key=lambda span: (span[1], span[2]),
    )
    out: list[tuple[str, float, float]] = []
    cursor = 0.0
    for label, start, end in spans:
        start = max(start, cursor)       # overlapping phones: the later one starts when the earlier ends
        if end <= start:
            continue
        if start > cursor:
            out.append((SILENCE, cursor, start))
        out.append((label, start, end))
        cursor = end
    if cursor < duration_s:
        out.append((SILENCE, cursor, duration_s))
    merged: list[tuple[str, float, float]] = []
    for label, start, end in out:
        if merged and label == SILENCE and merged[-1][0] == SILENCE:
            merged[-1] = (SILENCE, merged[-1][1], end)
        else:
            merged.append((label, start, end))
    return merged


def _pause_segment(start_s: float, end_s: float, first: bool, last: bool,
                   previous: np.ndarray, lead_s: float) -> _Segment:
    """A pause: short ones hold (most of) the previous shape, long ones pull hard to rest."""
    dur = end_s - start_s
    # 0 for a short pause .. 1 for a long one
    frac = 1.0 if first or last else float(
        np.clip((dur - SHORT_PAUSE_S) / (LONG_PAUSE_S - SHORT_PAUSE_S), 0.0, 1.0))
    held = PAUSE_HOLD_AMOUNT * (1.0 - frac)
    target = held * previous + (1.0 - held) * targets.REST
    strength = PAUSE_HOLD_DOMINANCE + frac * (PAUSE_REST_DOMINANCE - PAUSE_HOLD_DOMINANCE)
    if frac == 1.0:
        lo = start_s if first else start_s + PAUSE_RELAX_S
        hi = end_s if last else end_s - max(PAUSE_PREPARE_S, lead_s)
    else:
        margin = 0.5 * (1.0 - PLATEAU_FRACTION) * dur
        lo, hi = start_s + margin, end_s - margin
    if hi < lo:
        lo = hi = 0.5 * (start_s + end_s)
    falloff = np.full(len(ARTICULATION), PAUSE_FALLOFF_S)
    return _Segment(start_s, end_s, (lo, hi), target,
                    np.full(len(ARTICULATION), strength, dtype=np.float64), falloff, falloff)


def _prepare_segment(end_s: float, lead_s: float) -> _Segment:
    """The lips parting ahead of a phrase; the first phone's own anticipation takes over."""
    dominance = np.full(len(ARTICULATION), PREPARE_DOMINANCE)
    falloff = np.full(len(ARTICULATION), PAUSE_FALLOFF_S)
    start_s = end_s - lead_s
    # The pull builds over the first half of the lead (from 5% at its start: three time
    # constants) and holds over the second: the lips part gradually, not in a snap.
    return _Segment(start_s, end_s, (start_s + 0.5 * lead_s, end_s), PREPARE, dominance,
                    np.full(len(ARTICULATION), lead_s / 6.0), falloff)


def _segments(phones: list[Phone], duration_s: float, prepare_lead_s: float) -> list[_Segment]:
    spans = _clean(phones, duration_s)
    carry = np.full(len(ARTICULATION), CARRYOVER_S)
    segments: list[_Segment] = []
    for i, (label, start, end) in enumerate(spans):
        if label == SILENCE:
            previous = segments[-1].target if segments else targets.REST
            last = i == len(spans) - 1
            # Only a breath pause before more speech (a short one holds the last shape), and
            # never more than its second half.
            lead_s = (0.0 if last or end - start < PREPARE_MIN_PAUSE_S
                      else min(prepare_lead_s, 0.5 * (end - start)))
            segments.append(_pause_segment(start, end, first=i == 0, last=last,
                                           previous=previous, lead_s=lead_s))
            if lead_s > 0.0:
                segments.append(_prepare_segment(end, lead_s))
            continue
        parts = targets.TABLE[label]
        step = (end - start) / len(parts)
        for j, (target, dominance) in enumerate(parts):
            s, e = start + j * step, start + (j + 1) * step
            margin = 0.5 * (1.0 - PLATEAU_FRACTION) * (e - s)
            segments.append(_Segment(s, e, (s + margin, e - margin), target,
                                     dominance.astype(np.float64), ANTICIPATION_S, carry))
    return segments


def _blend(segments: list[_Segment], times_s: np.ndarray) -> np.ndarray:
    """Dominance-weighted mean of all targets at each time: [len(times_s), K]."""
    num = np.zeros((len(times_s), len(ARTICULATION)))
    den = np.full((len(times_s), len(ARTICULATION)), REST_DOMINANCE)
    for seg in segments:
        lo, hi = seg.plateau_s
        i0, i1 = np.searchsorted(times_s, (lo - WINDOW_S, hi + WINDOW_S))
        if i0 >= i1:
            continue
        t = times_s[i0:i1, None]
        decay = np.maximum(lo - t, 0.0) / seg.before_s + np.maximum(t - hi, 0.0) / seg.after_s
        weight = seg.dominance * np.exp(-decay)
        num[i0:i1] += weight * seg.target
        den[i0:i1] += weight
    return num / den


def _smooth_to_frames(dense: np.ndarray, n_frames: int) -> np.ndarray:
    """Triangle filter two frames wide, read at frame centres (subsample S*i + S//2)."""
    s = FRAME_SUBSAMPLES
    kernel = np.concatenate([np.arange(1, s + 1), np.arange(s - 1, 0, -1)]).astype(np.float64)
    kernel /= kernel.sum()
    padded = np.pad(dense, ((s - 1, s - 1), (0, 0)), mode="edge")
    centres = np.arange(n_frames) * s + s // 2 + (s - 1)
    offsets = np.arange(-(s - 1), s)
    window = padded[centres[:, None] + offsets[None, :]]          # [n_frames, 2s-1, K]
    return np.einsum("fwk,w->fk", window, kernel)


def constrained_frames(start_s: float, end_s: float, fps: float, n_frames: int) -> np.ndarray:
    """Frames whose centre lies in [start_s, end_s); the nearest frame when none does."""
    first = int(np.ceil(start_s * fps - 0.5))
    last = int(np.ceil(end_s * fps - 0.5))          # exclusive
    first, last = max(first, 0), min(last, n_frames)
    if last > first:
        return np.arange(first, last)
    nearest = int(np.clip(np.floor(0.5 * (start_s + end_s) * fps), 0, n_frames - 1))
    return np.array([nearest]) if n_frames else np.array([], dtype=int)


def _impose(values: np.ndarray, phones: list[Phone], duration_s: float, fps: float) -> None:
    index = {name: k for k, name in enumerate(ARTICULATION)}
    for label, start, end in _clean(phones, duration_s):
        rules = targets.CONSTRAINTS.get(label)
        if not rules:
            continue
        frames = constrained_frames(start, end, fps, len(values))
        for name, (low, high) in rules.items():
            k = index[name]
            values[frames, k] = np.clip(values[frames, k], low, high)


def track(phones: list[Phone], duration_s: float, fps: float,
          prepare_lead_s: float = PREPARE_LEAD_S) -> MouthTrack:
    """Mouth articulation per video frame from timed ARPAbet phones.

    n_frames = int(round(duration_s * fps)); frame i is sampled at its centre (i + 0.5) / fps.
    Time not covered by any phone is silence. `prepare_lead_s`: how long before a phrase that
    follows a breath pause the lips start to part (0: closed until the first phone pulls).
    """
    n_frames = frame_count(duration_s, fps)
    if n_frames == 0:
        return MouthTrack(fps=fps, values=np.zeros((0, len(ARTICULATION)), dtype=np.float32))
    s = FRAME_SUBSAMPLES
    dense_times = (np.arange(n_frames * s, dtype=np.float64) + 0.5) / (s * fps)
    segments = _segments(phones, n_frames / fps, prepare_lead_s)
    values = _smooth_to_frames(_blend(segments, dense_times), n_frames)
    _impose(values, phones, n_frames / fps, fps)
    values = np.clip(values, 0.0, 1.0).astype(np.float32)
    return MouthTrack(fps=fps, values=values)
