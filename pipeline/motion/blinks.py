"""Blinks: when (log-normal intervals, drawn to phrase ends) and how (fast close, slow open).

Human ranges (DESIGN.md): 15-26 blinks a minute while speaking, log-normal intervals,
100-400 ms long, closing 40-47% faster than opening, about half of them partial, and more
of them at phrase and sentence boundaries.

A clip gets the number of blinks its length and a per-clip rate call for (a 10 s clip three
or four, never the one or two that a free-running random process often gives), spaced by
log-normal intervals scaled to fill the clip, the first soon after the start. For a loop the
intervals run round the clip, none straddling the wrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.easing import smoothstep

RATE_PER_MIN = (17.0, 23.0)   # drawn per clip, inside the human 15-26 while speaking
HUMAN_RATE_PER_MIN = (15.0, 26.0)  # a clip's count is kept inside this whenever one fits
INTERVAL_SIGMA = 0.45         # of log(interval), onset to onset
LEAD_FRACTION = 0.35          # the first blink comes after this fraction of an interval...
TAIL_FRACTION = 0.5           # ...and the clip ends this fraction of one after the last
FIRST_BLINK_S = 0.3           # never blink while the video is just starting
END_MARGIN_S = 0.1            # nor in the last frame or so (blinks are never cut off)
LOOP_MARGIN_S = 0.1           # a loop's wrap point lies at least this far from any blink
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


def blink_count(duration_s: float, rng: np.random.Generator) -> int:
    """How many blinks a clip gets: its expected count at a per-clip rate, rounded at random
    (so the mean is exact), then kept within the human range when a whole number fits it."""
    rate = rng.uniform(*RATE_PER_MIN)
    n = int(np.floor(duration_s * rate / 60.0 + rng.random()))
    low = int(np.ceil(duration_s * HUMAN_RATE_PER_MIN[0] / 60.0))
    high = int(np.floor(duration_s * HUMAN_RATE_PER_MIN[1] / 60.0))
    return int(np.clip(n, low, high)) if low <= high else n


def _fit_scale(free: np.ndarray, floors: np.ndarray, fixed: float, span_s: float) -> float:
    """c with fixed + sum(max(c * free, floors)) = span_s (monotone in c: bisection)."""
    lo, hi = 0.0, 1.0
    while fixed + np.maximum(hi * free, floors).sum() < span_s:
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if fixed + np.maximum(mid * free, floors).sum() < span_s:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _attract(blinks: list[Blink], rng: np.random.Generator, bounds: np.ndarray,
             earliest_s: float, latest_end_s: float) -> list[Blink]:
    """Move blinks onto nearby phrase boundaries, keeping the eyes open MIN_GAP_S between them."""
    out = list(blinks)
    for k, b in enumerate(out):
        near = bounds[(bounds >= b.start_s - BOUNDARY_EARLY_S) & (bounds <= b.start_s + BOUNDARY_LATE_S)]
        if not len(near) or rng.random() >= BOUNDARY_PROBABILITY:
            continue
        onset = float(near[0] + rng.uniform(*BOUNDARY_DELAY_S))
        low = out[k - 1].end_s + MIN_GAP_S if k > 0 else earliest_s
        high = (out[k + 1].start_s - MIN_GAP_S if k + 1 < len(out) else latest_end_s) - (b.end_s - b.start_s)
        if low <= onset <= high:
            out[k] = Blink(onset, b.close_s, b.hold_s, b.open_s, b.peak)
    return out


def schedule(duration_s: float, rng: np.random.Generator,
             boundaries_s: list[float] | None = None, loop: bool = False) -> list[Blink]:
    """Non-overlapping blinks over the clip, none before FIRST_BLINK_S, none cut off at the end.

    With `loop`, the clip is a circle: the gap after the last blink runs on into the first,
    and no blink lies within LOOP_MARGIN_S of the wrap.
    """
    bounds = np.array(sorted(boundaries_s or []), dtype=np.float64)
    start_s, end_s = (0.0, duration_s) if loop else (FIRST_BLINK_S, duration_s - END_MARGIN_S)
    n = blink_count(duration_s, rng)
    shapes = [_shape(rng, 0.0) for _ in range(n)]
    durations = np.array([b.end_s for b in shapes])
    # the eyes stay open MIN_GAP_S between blinks (and round a loop's wrap, with its margins)
    gaps = (np.arange(n) + 1 if loop else np.arange(n)) * MIN_GAP_S + (2 * LOOP_MARGIN_S if loop else 0.0)
    fits = np.flatnonzero(np.cumsum(durations) + gaps <= end_s - start_s)
    n = int(fits[-1]) + 1 if len(fits) else 0
    if n == 0:
        return []
    shapes, durations = shapes[:n], durations[:n]
    raw = np.exp(INTERVAL_SIGMA * rng.standard_normal(n + 1))      # unit-median log-normal
    if loop:
        # n onset-to-onset intervals round the circle
        floors = durations + MIN_GAP_S
        floors[-1] += 2 * LOOP_MARGIN_S
        c = _fit_scale(raw[:n], floors, 0.0, duration_s)
        intervals = np.maximum(c * raw[:n], floors)
        gap_s = intervals[-1] - durations[-1]
        first_s = LOOP_MARGIN_S + rng.random() * (gap_s - 2 * LOOP_MARGIN_S)
    else:
        # lead + (n - 1) intervals + the last blink + tail fill the span
        free = np.concatenate([[LEAD_FRACTION * raw[0]], raw[1:n], [TAIL_FRACTION * raw[n]]])
        floors = np.concatenate([[0.0], durations[:-1] + MIN_GAP_S, [0.0]])
        c = _fit_scale(free, floors, float(durations[-1]), end_s - start_s)
        steps = np.maximum(c * free, floors)
        first_s = start_s + steps[0]
        intervals = steps[1:n]
    onsets = first_s + np.concatenate([[0.0], np.cumsum(intervals[:n - 1])])
    blinks = [Blink(float(t), b.close_s, b.hold_s, b.open_s, b.peak)
              for t, b in zip(onsets, shapes, strict=True)]
    if len(bounds):
        margin = LOOP_MARGIN_S if loop else 0.0
        blinks = _attract(blinks, rng, bounds, start_s + margin, end_s - margin)
    return blinks


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
