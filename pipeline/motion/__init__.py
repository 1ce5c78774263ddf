"""Procedural idle motion per video frame: blinks, breath, head pose, brows, gaze.

`idle(duration_s, fps, seed, words, sentences, style)` -> MotionTrack of `types.MOTION`,
n_frames = int(round(duration_s * fps)), frame i sampled at its centre (i + 0.5) / fps.
"""

from pipeline.motion.idle import STYLE_SCALE, idle

__all__ = ["idle", "STYLE_SCALE"]
