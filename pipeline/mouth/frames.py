"""Frame grid shared by every mouth driver.

A clip of `duration_s` at `fps` has `n_frames = int(round(duration_s * fps))` frames (the
compositor uses the same rule); frame i covers [i/fps, (i+1)/fps) and is sampled at its centre.
"""

from __future__ import annotations

import numpy as np

from pipeline.timebase import frame_centres_s, frame_count  # noqa: F401 - re-exported
from pipeline.types import MouthTrack


def mouth_opening(track: MouthTrack) -> np.ndarray:
    """Per-frame aperture in [0, 1]: jaw and lip gap together, shut by lip press.

    A single number to compare against the lip gap measured on real faces (lip-sync
    benchmarks) and to test closures with.
    """
    jaw = track.param("jaw_open")
    lips = track.param("lip_open")
    press = track.param("lip_press")
    return np.clip(0.5 * (jaw + lips) * (1.0 - press), 0.0, 1.0).astype(np.float32)
