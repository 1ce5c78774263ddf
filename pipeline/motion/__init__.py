"""Procedural idle motion per video frame: blinks, breath, head pose, brows, gaze.

`idle(duration_s, fps, seed, words, sentences, style, *, audio, sample_rate_hz, scale, loop)`
-> MotionTrack of `types.MOTION`, n_frames = int(round(duration_s * fps)), frame i sampled at
its centre (i + 0.5) / fps. With the audio, nods and brow raises follow its pitch accents.
"""

from pipeline.motion.idle import STYLE_SCALE, idle

__all__ = ["idle", "STYLE_SCALE"]
