"""Mouth articulation per video frame (DESIGN.md "Articulation, in one place").

`track` drives the mouth from timed phones with rules; `from_envelope` from loudness alone
(the lip-sync baseline). Both emit a MouthTrack of `types.ARTICULATION` in [0, 1] with
n_frames = int(round(duration_s * fps)), frame i sampled at its centre (i + 0.5) / fps.
"""

from pipeline.mouth.envelope import from_envelope
from pipeline.mouth.frames import frame_count, mouth_opening
from pipeline.mouth.rules import track

__all__ = ["track", "from_envelope", "mouth_opening", "frame_count"]
