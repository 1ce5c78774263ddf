"""Small shared pieces: the frame grid, bumps and fades, speech pauses."""

from __future__ import annotations

import numpy as np

from pipeline.easing import smoothstep
from pipeline.timebase import frame_centres_s, frame_count  # noqa: F401 - re-exported
from pipeline.types import Word

PAUSE_S = 0.3                 # a gap between words at least this long is a pause


def bump(t: np.ndarray, start_s: float, rise_s: float, hold_s: float, fall_s: float) -> np.ndarray:
    """0 -> 1 over rise_s, held for hold_s, 1 -> 0 over fall_s, eased at both ends."""
    up = smoothstep((t - start_s) / max(rise_s, 1e-6))
    down = smoothstep((t - start_s - rise_s - hold_s) / max(fall_s, 1e-6))
    return up * (1.0 - down)


def bump_span(t: np.ndarray, start_s: float, rise_s: float, hold_s: float,
              fall_s: float) -> tuple[slice, np.ndarray]:
    """`bump` only where it is non-zero: (the slice of sorted `t` it covers, its values there),
    so that thousands of events over an hour of frames stay cheap."""
    i0, i1 = np.searchsorted(t, (start_s, start_s + rise_s + hold_s + fall_s))
    return slice(int(i0), int(i1)), bump(t[i0:i1], start_s, rise_s, hold_s, fall_s)


def pauses(words: list[Word] | None, duration_s: float) -> list[tuple[float, float]]:
    """Silent spans (start_s, end_s) of at least PAUSE_S: before, between and after words."""
    if not words:
        return []
    spans = sorted((w.start_s, w.end_s) for w in words)
    out = []
    cursor = 0.0
    for start, end in spans:
        if start - cursor >= PAUSE_S:
            out.append((cursor, start))
        cursor = max(cursor, end)
    if duration_s - cursor >= PAUSE_S:
        out.append((cursor, duration_s))
    return out


def loop_crossfade(values: np.ndarray, n_frames: int) -> np.ndarray:
    """The first n_frames of `values`, made to loop: over the first len(values) - n_frames
    frames they ease from the continuation of frame n_frames - 1 back into their own course,
    so frame n_frames - 1 flows into frame 0 with the same value and slope as into frame
    n_frames of the longer clip.
    """
    fade = len(values) - n_frames
    out = np.array(values[:n_frames], dtype=np.float64)
    if fade <= 0:
        return out
    w = smoothstep(np.arange(fade) / fade)
    out[:fade] = w * values[:fade] + (1.0 - w) * values[n_frames:n_frames + fade]
    return out
