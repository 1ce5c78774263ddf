"""Head pose and brows: slow sway, nods and brow raises on emphasised words.

Sway is a few sinusoids per channel at random low frequencies (0.05-0.4 Hz) and phases: smooth,
never repeating within a clip, bounded by the sum of their amplitudes. Emphasis (long or
first content words) brings a small nod and sometimes a brow raise, the head lagging the
voice by ~30 ms (DESIGN.md). In long silences the sway settles towards stillness.
"""

from __future__ import annotations

import numpy as np

from pipeline.motion.shapes import bump, pauses
from pipeline.types import Word

SWAY_HZ = (0.05, 0.4)
SWAY_COMPONENTS = 3
# Peak sway per channel at style 1.0 (the sum of the component amplitudes).
SWAY_PEAK = {
    "head_yaw_deg": 2.2,
    "head_pitch_deg": 1.5,
    "head_roll_deg": 1.0,
    "head_dx": 0.008,          # fraction of face width
    "head_dy": 0.005,
}
# Hard limits at style 1.0, applied softly (tanh) after nods are added.
LIMITS = {
    "head_yaw_deg": 3.0,
    "head_pitch_deg": 3.5,
    "head_roll_deg": 1.5,
    "head_dx": 0.015,
    "head_dy": 0.015,
}
HEAD_LAG_S = 0.03
NOD_DEG = (1.5, 3.0)          # chin down
NOD_RISE_S, NOD_FALL_S = 0.2, 0.4
NOD_DY = 0.002                # a nod also drops the head a little, fraction of face width
NOD_PROBABILITY = 0.55        # of an emphasised word
MIN_NOD_GAP_S = 1.5
BROW_PROBABILITY = 0.35       # of a nod
BROW_PEAK = (0.35, 0.8)
BROW_RISE_S, BROW_FALL_S = 0.12, 0.35
EMPHASIS_LENGTH_RATIO = 1.25  # a content word this much longer than the median is stressed
LONG_WORD_LETTERS = 7
SETTLE_AFTER_S = 0.8          # a pause longer than this starts to calm the sway...
SETTLE_TAU_S = 1.0            # ...with this time constant...
SETTLED_SCALE = 0.45          # ...down to this fraction of the speaking sway

FUNCTION_WORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been am "
    "it its this that these those i you he she we they me him her us them my your his our "
    "their not no so do does did have has had will would can could should may might must "
    "there here than then just very also up out about into over".split()
)


def sway(times_s: np.ndarray, rng: np.random.Generator, peak: float) -> np.ndarray:
    """Sum of SWAY_COMPONENTS sinusoids, |value| <= peak."""
    freqs = np.exp(rng.uniform(np.log(SWAY_HZ[0]), np.log(SWAY_HZ[1]), SWAY_COMPONENTS))
    phases = rng.uniform(0.0, 2 * np.pi, SWAY_COMPONENTS)
    weights = rng.dirichlet(np.full(SWAY_COMPONENTS, 2.0))
    # slower components carry more of the amplitude, as in real head motion
    weights = weights / np.sqrt(freqs / SWAY_HZ[0])
    weights *= peak / weights.sum()
    return np.sin(2 * np.pi * freqs[None, :] * times_s[:, None] + phases).dot(weights)


def emphasised(words: list[Word]) -> list[Word]:
    """Stressed-looking content words: long for their kind, long in letters, or sentence-first."""
    if not words:
        return []
    lengths = np.array([w.end_s - w.start_s for w in words])
    median_s = float(np.median(lengths))
    out = []
    previous_end = -np.inf
    for w, length in zip(words, lengths, strict=True):
        token = "".join(c for c in w.text.lower() if c.isalpha() or c == "'")
        after_pause = w.start_s - previous_end > 0.3
        previous_end = w.end_s
        if not token or token in FUNCTION_WORDS:
            continue
        if (length >= EMPHASIS_LENGTH_RATIO * median_s or len(token) >= LONG_WORD_LETTERS
                or after_pause):
            out.append(w)
    return out


def activity(times_s: np.ndarray, words: list[Word] | None, duration_s: float) -> np.ndarray:
    """1 while speaking, easing towards SETTLED_SCALE in long silences."""
    out = np.ones(len(times_s))
    for start, end in pauses(words, duration_s):
        if end - start <= SETTLE_AFTER_S:
            continue
        # calm down after SETTLE_AFTER_S, come back up in time for the next word
        settle = 1.0 - np.exp(-np.maximum(times_s - start - SETTLE_AFTER_S, 0.0) / SETTLE_TAU_S)
        recover = 1.0 - np.exp(-np.maximum(end - times_s, 0.0) / (0.5 * SETTLE_TAU_S))
        inside = (times_s >= start) & (times_s < end)
        out[inside] = 1.0 - (1.0 - SETTLED_SCALE) * (settle * recover)[inside]
    return out


def head_and_brows(times_s: np.ndarray, rng: np.random.Generator, duration_s: float,
                   words: list[Word] | None, scale: float) -> dict[str, np.ndarray]:
    """Head channels (degrees / face widths) and brow_raise at the given times."""
    calm = activity(times_s, words, duration_s)
    out = {name: sway(times_s, rng, peak) * calm for name, peak in SWAY_PEAK.items()}
    brow = np.zeros(len(times_s))
    last_nod = -np.inf
    for w in emphasised(words or []):
        if w.start_s - last_nod < MIN_NOD_GAP_S or rng.random() > NOD_PROBABILITY:
            continue
        last_nod = w.start_s
        onset = w.start_s + HEAD_LAG_S
        nod = bump(times_s, onset, NOD_RISE_S, 0.0, NOD_FALL_S)
        out["head_pitch_deg"] += rng.uniform(*NOD_DEG) * nod
        out["head_dy"] += NOD_DY * nod
        if rng.random() < BROW_PROBABILITY:
            hold = max(0.0, (w.end_s - w.start_s) - BROW_RISE_S)
            brow = np.maximum(brow, rng.uniform(*BROW_PEAK)
                              * bump(times_s, onset, BROW_RISE_S, hold, BROW_FALL_S))
    for name, limit in LIMITS.items():
        out[name] = scale * limit * np.tanh(out[name] / limit)
    out["brow_raise"] = np.clip(scale * brow, 0.0, 1.0)
    return out
