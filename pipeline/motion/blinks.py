"""Blinks: when (log-normal intervals, drawn to phrase ends) and how (fast close, slow open).

Human ranges (DESIGN.md): 15-26 blinks a minute while speaking, log-normal intervals,
100-400 ms long, closing 40-47% faster than opening, about half of them partial, and more
of them at phrase and sentence boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.motion.shapes import smoothstep

MEDIAN_INTERVAL_S = 2.7       # onset to onset; log-normal, mean ~3.0 s: ~20 blinks a minute
INTERVAL_SIGMA = 0.45         # of log(interval)
FIRST_BLINK_S = 0.3           # never blink while the video is just starting
MIN_GAP_S = 0.3               # eyes open at least this long between blinks
MEDIAN_DURATION_S = 0.22      # whole blink, close + hold + open
DURATION_SIGMA = 0.2
DURATION_RANGE_S = (0.18, 0.36)  # leaves >= 100 ms above 10% closure even when partial
CLOSE_SPEEDUP = (1.40, 1.47)  # closing velocity / opening velocity
HOLD_RANGE_S = (0.0, 0.03)    # lids resting shut at the bottom of a full blink
PARTIAL_PROBABILITY = 0.5
PARTIAL_PEAK = (0.5, 0.8)
# Blinks drawn to boundaries: a scheduled blink within this window of a boundary moves to it.
BOUNDARY_EARLY_S = 1.0        # the blink was due up to this long after the boundary...
BOUNDARY_LATE_S = 0.6         # ...or up to this long before it
BOUNDARY_PROBABILITY = 0.75
BOUNDARY_DELAY_S = (0.05, 0.25)  # after the end of the sentence or the start of the pause


@dataclass(frozen=True)
class Blink:
    start_s: float
    close_s: float
    hold_s: float
    open_s: float
    peak: float               # 1 for a full blink, 0.5-0.8 for a partial one

    @property
    def end_s(self) -> float:
        return self.start_s + self.close_s + self.hold_s + self.open_s


def _shape(rng: np.random.Generator, start_s: float) -> Blink:
    total = float(np.clip(MEDIAN_DURATION_S * np.exp(DURATION_SIGMA * rng.standard_normal()),
                          *DURATION_RANGE_S))
    hold = float(rng.uniform(*HOLD_RANGE_S))
    speedup = float(rng.uniform(*CLOSE_SPEEDUP))
    partial = rng.random() < PARTIAL_PROBABILITY
    peak = float(rng.uniform(*PARTIAL_PEAK)) if partial else 1.0
    close = (total - hold) / (1.0 + speedup)   # same travel, speedup x the velocity
    return Blink(start_s, close, hold, close * speedup, peak)


def schedule(duration_s: float, rng: np.random.Generator,
             boundaries_s: list[float] | None = None) -> list[Blink]:
    """Non-overlapping blinks over the clip, none before FIRST_BLINK_S, none cut off at the end."""
    bounds = np.array(sorted(boundaries_s or []), dtype=np.float64)
    blinks: list[Blink] = []
    # the first blink comes part of an interval in: the clip starts mid-way between blinks
    onset = FIRST_BLINK_S + rng.uniform(0.0, 1.0) * MEDIAN_INTERVAL_S
    earliest = FIRST_BLINK_S
    while True:
        if len(bounds):
            near = bounds[(bounds >= max(earliest, onset - BOUNDARY_EARLY_S))
                          & (bounds <= onset + BOUNDARY_LATE_S)]
            if len(near) and rng.random() < BOUNDARY_PROBABILITY:
                onset = float(near[0] + rng.uniform(*BOUNDARY_DELAY_S))
        onset = max(onset, earliest)
        blink = _shape(rng, onset)
        if blink.end_s > duration_s:
            return blinks
        blinks.append(blink)
        earliest = blink.end_s + MIN_GAP_S
        onset += MEDIAN_INTERVAL_S * float(np.exp(INTERVAL_SIGMA * rng.standard_normal()))


def align_to_frames(blinks: list[Blink], fps: float) -> list[Blink]:
    """Shift each blink (by under half a frame) so its deepest point falls on a frame centre.

    A 200 ms blink is six frames at 30 fps; sampled off its peak, a full blink would never
    show the eye shut.
    """
    out = []
    for b in blinks:
        peak_s = b.start_s + b.close_s + 0.5 * b.hold_s
        shift = (np.floor(peak_s * fps) + 0.5) / fps - peak_s
        if b.start_s + shift < FIRST_BLINK_S:
            shift += 1.0 / fps
        out.append(Blink(b.start_s + shift, b.close_s, b.hold_s, b.open_s, b.peak))
    return out


def channel(blinks: list[Blink], times_s: np.ndarray) -> np.ndarray:
    """Eyelid closure 0..1 at the given times."""
    out = np.zeros(len(times_s))
    for b in blinks:
        i0, i1 = np.searchsorted(times_s, (b.start_s, b.end_s))
        t = times_s[i0:i1]
        closing = smoothstep((t - b.start_s) / b.close_s)
        opening = 1.0 - smoothstep((t - b.start_s - b.close_s - b.hold_s) / b.open_s)
        out[i0:i1] = np.maximum(out[i0:i1], b.peak * np.minimum(closing, opening))
    return out
