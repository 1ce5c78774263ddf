"""The whole motion track: blinks, head, brows, breath and gaze, per video frame.

With the speech audio, nods and brow raises follow its pitch accents. `scale` (--motion-scale)
multiplies head, brow and gaze amplitudes on top of the style; blinks and breath are
physiology and stay. `loop` makes every channel periodic over the clip: blinks and looks
away never straddle the wrap, and the continuous channels (head, brows, breath) are computed
LOOP_FADE_S past the end and eased back into their start.
"""

from __future__ import annotations

import numpy as np

from pipeline.motion import blinks, breath, gaze, head, prosody
from pipeline.motion.shapes import frame_centres_s, frame_count, loop_crossfade, pauses
from pipeline.types import MOTION, MotionTrack, Word

# How much each style moves the head, brows and eyes (blinks and breath are physiology).
STYLE_SCALE = {"calm": 0.6, "natural": 1.0, "expressive": 1.5}
MAX_SCALE = 3.0               # --motion-scale; head.CEILINGS keep even this believable
LOOP_FADE_S = 1.0             # a loop's continuous channels ease back over this (at most half the clip)
BREATH_DY = 0.0015            # a full inhale lifts the head this much (fraction of face width)


def blink_boundaries(words: list[Word] | None, sentences: list[tuple[float, float]] | None,
                     duration_s: float) -> list[float]:
    """Where blinks gather: sentence ends and the starts of pauses."""
    ends = [end for _, end in sentences or []]
    ends += [start for start, _ in pauses(words, duration_s) if start > 0.0]
    return sorted(set(ends))


def idle(duration_s: float, fps: float, seed: int, words: list[Word] | None = None,
         sentences: list[tuple[float, float]] | None = None,
         style: str = "natural", *, audio: np.ndarray | None = None,
         sample_rate_hz: int | None = None, scale: float = 1.0, loop: bool = False) -> MotionTrack:
    """Procedural motion for a clip: n_frames = int(round(duration_s * fps)), sampled at
    frame centres. The same seed (and inputs) gives the same track.

    `audio` (mono, with `sample_rate_hz`) drives nods and brow raises from its pitch accents;
    `words` (when known) keep them to content words. `scale` multiplies head, brow and gaze
    motion (0: a still head that still blinks and breathes). `loop`: frame n-1 flows into
    frame 0 (for looping profile clips; words may be None for an idle-only loop).
    """
    if style not in STYLE_SCALE:
        raise ValueError(f"unknown motion style {style!r}; use one of {', '.join(STYLE_SCALE)}")
    if not 0.0 <= scale <= MAX_SCALE:
        raise ValueError(f"motion scale {scale} is outside 0..{MAX_SCALE:g}")
    if audio is not None and not sample_rate_hz:
        raise ValueError("audio needs its sample_rate_hz")
    amplitude = STYLE_SCALE[style] * scale
    n_frames = frame_count(duration_s, fps)
    duration_s = n_frames / fps
    times_s = frame_centres_s(n_frames, fps)
    # a loop's continuous channels run on past the end, then ease back into the start
    n_ext = n_frames + (min(frame_count(LOOP_FADE_S, fps), n_frames // 2) if loop else 0)
    times_ext_s = frame_centres_s(n_ext, fps)
    # one independent stream per part, so changing one part leaves the others as they were
    rng_blink, rng_head, rng_breath, rng_gaze = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed) % 2**63).spawn(4)
    )
    accents = prosody.accents(audio, int(sample_rate_hz)) if audio is not None else None
    channels: dict[str, np.ndarray] = {}
    events = blinks.schedule(duration_s, rng_blink, blink_boundaries(words, sentences, duration_s),
                             loop=loop)
    events = [b for b in blinks.align_to_frames(events, fps) if b.end_s <= duration_s]
    channels["blink"] = blinks.channel(events, times_s)
    continuous = head.head_and_brows(times_ext_s, rng_head, n_ext / fps, words, amplitude, accents,
                                     period_s=duration_s if loop else None)
    continuous["breath"] = breath.breathing(times_ext_s, rng_breath, n_ext / fps, words)
    # the head rises a little with each breath in (none at all with a still head)
    continuous["head_dy"] = continuous["head_dy"] - scale * BREATH_DY * (continuous["breath"] + 1.0) / 2.0
    for name, values in continuous.items():
        channels[name] = loop_crossfade(values, n_frames)
    channels["gaze_x"], channels["gaze_y"] = gaze.saccades(times_s, rng_gaze, duration_s, amplitude,
                                                           loop=loop)
    values = np.stack([channels[name] for name in MOTION], axis=1).astype(np.float32)
    return MotionTrack(fps=fps, values=values.reshape(n_frames, len(MOTION)))
