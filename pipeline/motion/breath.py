"""Breathing: a phase in -1 (exhaled) .. 1 (inhaled).

At rest, 12-18 breaths a minute, inhaling quicker than exhaling. With words, breath follows
speech: a quick inhale in the pause before each phrase, a slow controlled exhale while
speaking; long silences fall back to rest breathing.
"""

from __future__ import annotations

import numpy as np

from pipeline.motion.shapes import pauses
from pipeline.types import Word

REST_BREATHS_PER_MIN = (12.0, 18.0)
REST_INHALE_FRACTION = 0.4    # of each rest cycle
SPEECH_INHALE_S = (0.25, 0.6) # quick inhale, as long as the pause allows
REST_EXHALE_TAU_S = 0.9       # passive exhale at rest
SPEECH_EXHALE_TAU_S = 3.5     # controlled exhale while speaking
INHALE_END_BEFORE_WORD_S = 0.05


def _inhales(duration_s: float, rng: np.random.Generator,
             words: list[Word] | None) -> list[tuple[float, float, float]]:
    """(start_s, end_s, exhale_tau_s after it) for every inhale, in time order."""
    period_s = 60.0 / rng.uniform(*REST_BREATHS_PER_MIN)

    def rest_cycles(start: float, end: float) -> list[tuple[float, float, float]]:
        out = []
        t = start + rng.uniform(0.0, 0.5) * period_s
        while t + REST_INHALE_FRACTION * period_s < end:
            length = period_s * rng.uniform(0.85, 1.15)
            out.append((t, t + REST_INHALE_FRACTION * length, REST_EXHALE_TAU_S))
            t += length
        return out

    if not words:
        return rest_cycles(0.0, duration_s)
    inhales = []
    for start, end in pauses(words, duration_s):
        if end >= duration_s:      # the pause after the last word: just rest
            inhales += rest_cycles(start + 0.5, end)
            continue
        if end - start > 2.0 * period_s:
            inhales += rest_cycles(start + 0.5, end - 2.0)
        inhale_end = end - INHALE_END_BEFORE_WORD_S
        length = min(rng.uniform(*SPEECH_INHALE_S), 0.8 * (inhale_end - start))
        inhales.append((inhale_end - length, inhale_end, SPEECH_EXHALE_TAU_S))
    return sorted(inhales)


def breathing(times_s: np.ndarray, rng: np.random.Generator, duration_s: float,
              words: list[Word] | None) -> np.ndarray:
    """The breath channel at the given (sorted) times."""
    out = np.empty(len(times_s))
    level, since_s, tau_s = -0.5, 0.0, REST_EXHALE_TAU_S
    events = _inhales(duration_s, rng, words)
    k = 0
    for i, t in enumerate(times_s):
        while k < len(events) and t >= events[k][1]:
            start, end, next_tau = events[k]
            level = 1.0                      # an inhale ends full
            since_s, tau_s = end, next_tau
            k += 1
        if k < len(events) and t >= events[k][0]:
            start, end, _ = events[k]
            # rise from wherever the exhale got to, eased
            from_level = -1.0 + (level + 1.0) * np.exp(-(start - since_s) / tau_s)
            x = (t - start) / (end - start)
            out[i] = from_level + (1.0 - from_level) * (0.5 - 0.5 * np.cos(np.pi * x))
        else:
            out[i] = -1.0 + (level + 1.0) * np.exp(-(t - since_s) / tau_s)
    return out
