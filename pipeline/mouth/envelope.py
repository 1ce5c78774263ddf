"""A naive mouth from the loudness envelope: the baseline lip-sync benchmarks must beat.

The mouth opens with the frame's loudness (RMS in dB, between a noise floor and the clip's
loud level) and nothing else: no closures, no shapes, no anticipation.
"""

from __future__ import annotations

import numpy as np

from pipeline.mouth.frames import frame_count
from pipeline.types import ARTICULATION, MouthTrack

FLOOR_DB = -40.0              # below the loud level by this much: mouth closed
LOUD_PERCENTILE = 95.0        # the clip's "loud" level, robust to clicks
ATTACK = 0.7                  # per-frame smoothing towards louder (opens quickly)
RELEASE = 0.4                 # per-frame smoothing towards quieter (closes slower)
# How far each parameter follows the envelope.
GAINS = {"jaw_open": 0.8, "lip_open": 0.7, "teeth_show": 0.4}


def loudness_per_frame(audio: np.ndarray, sample_rate_hz: int, n_frames: int,
                       fps: float) -> np.ndarray:
    """RMS of the audio over each frame's span, in [0, 1] on a dB scale."""
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    edges = np.round(np.arange(n_frames + 1) / fps * sample_rate_hz).astype(np.int64)
    edges = np.clip(edges, 0, len(audio))
    squares = np.concatenate([[0.0], np.cumsum(audio * audio)])
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    rms = np.sqrt(np.maximum(squares[edges[1:]] - squares[edges[:-1]], 0.0) / counts)
    db = 20.0 * np.log10(rms + 1e-9)
    if not np.any(rms > 1e-6):
        return np.zeros(n_frames)
    loud_db = np.percentile(db[rms > 1e-6], LOUD_PERCENTILE)
    return np.clip((db - (loud_db + FLOOR_DB)) / -FLOOR_DB, 0.0, 1.0)


def from_envelope(audio: np.ndarray, sample_rate_hz: int, duration_s: float,
                  fps: float) -> MouthTrack:
    """Mouth track from loudness alone; n_frames = int(round(duration_s * fps))."""
    n_frames = frame_count(duration_s, fps)
    level = loudness_per_frame(audio, sample_rate_hz, n_frames, fps)
    smooth = np.zeros(n_frames)
    previous = 0.0
    for i, x in enumerate(level):
        rate = ATTACK if x > previous else RELEASE
        previous += rate * (x - previous)
        smooth[i] = previous
    values = np.zeros((n_frames, len(ARTICULATION)), dtype=np.float32)
    for name, gain in GAINS.items():
        values[:, ARTICULATION.index(name)] = gain * smooth
    return MouthTrack(fps=fps, values=values)
