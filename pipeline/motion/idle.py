"""The whole motion track: blinks, head, brows, breath and gaze, per video frame."""

from __future__ import annotations

import numpy as np

from pipeline.motion import blinks, breath, gaze, head
from pipeline.motion.shapes import frame_centres_s, frame_count, pauses
from pipeline.types import MOTION, MotionTrack, Word

# How much each style moves the head, brows and eyes (blinks and breath are physiology).
STYLE_SCALE = {"calm": 0.6, "natural": 1.0, "expressive": 1.5}


def blink_boundaries(words: list[Word] | None, sentences: list[tuple[float, float]] | None,
                     duration_s: float) -> list[float]:
    """Where blinks gather: sentence ends and the starts of pauses."""
    ends = [end for _, end in sentences or []]
    ends += [start for start, _ in pauses(words, duration_s) if start > 0.0]
    return sorted(set(ends))


def idle(duration_s: float, fps: float, seed: int, words: list[Word] | None = None,
         sentences: list[tuple[float, float]] | None = None,
         style: str = "natural") -> MotionTrack:
    """Procedural motion for a clip: n_frames = int(round(duration_s * fps)), sampled at
    frame centres. The same seed (and inputs) gives the same track.
    """
    if style not in STYLE_SCALE:
        raise ValueError(f"unknown motion style {style!r}; use one of {', '.join(STYLE_SCALE)}")
    scale = STYLE_SCALE[style]
    n_frames = frame_count(duration_s, fps)
    duration_s = n_frames / fps
    times_s = frame_centres_s(n_frames, fps)
    # one independent stream per part, so changing one part leaves the others as they were
    rng_blink, rng_head, rng_breath, rng_gaze = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed) % 2**63).spawn(4)
    )
    channels: dict[str, np.ndarray] = {}
    events = blinks.schedule(duration_s, rng_blink, blink_boundaries(words, sentences, duration_s))
    events = [b for b in blinks.align_to_frames(events, fps) if b.end_s <= duration_s]
    channels["blink"] = blinks.channel(events, times_s)
    channels.update(head.head_and_brows(times_s, rng_head, duration_s, words, scale))
    channels["breath"] = breath.breathing(times_s, rng_breath, duration_s, words)
    channels["gaze_x"], channels["gaze_y"] = gaze.saccades(times_s, rng_gaze, duration_s, scale)
    values = np.stack([channels[name] for name in MOTION], axis=1).astype(np.float32)
    return MotionTrack(fps=fps, values=values.reshape(n_frames, len(MOTION)))
