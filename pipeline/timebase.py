"""The frame grid every stage shares, so tracks, frames and audio line up exactly.

A clip of `duration_s` at `fps` has `int(round(duration_s * fps))` frames; frame i covers
[i/fps, (i+1)/fps) and is sampled at its centre.
"""

from __future__ import annotations

import numpy as np


def frame_count(duration_s: float, fps: float) -> int:
    """Frames in a clip: int(round(duration_s * fps)), never negative."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return max(0, int(round(duration_s * fps)))


def frame_centres_s(n_frames: int, fps: float) -> np.ndarray:
    """Frame i covers [i/fps, (i+1)/fps) and is sampled at its centre."""
    return (np.arange(n_frames, dtype=np.float64) + 0.5) / fps
