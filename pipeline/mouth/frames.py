"""Frame grid shared by every mouth driver.

A clip of `duration_s` at `fps` has `n_frames = int(round(duration_s * fps))` frames (the
compositor uses the same rule); frame i covers [i/fps, (i+1)/fps) and is sampled at its centre.
"""

from __future__ import annotations

import numpy as np

from pipeline.types import MouthTrack


def frame_count(duration_s: float, fps: float) -> int:
    """Frames in a clip: int(round(duration_s * fps)), never negative."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return max(0, int(round(duration_s * fps)))


def frame_centres_s(n_frames: int, fps: float) -> np.ndarray:
    return (np.arange(n_frames, dtype=np.float64) + 0.5) / fps


def mouth_opening(track: MouthTrack) -> np.ndarray:
    """Per-frame aperture in [0, 1]: jaw and lip gap together, shut by lip press.

    A single number to compare against the lip gap measured on real faces (lip-sync
    benchmarks) and to test closures with.
    """
    jaw = track.param("jaw_open")
    lips = track.param("lip_open")
    press = track.param("lip_press")
    return np.clip(0.5 * (jaw + lips) * (1.0 - press), 0.0, 1.0).astype(np.float32)
