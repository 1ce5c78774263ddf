"""The contracts between stages: plain dataclasses and numpy arrays.

Every arrow in the data flow of DESIGN.md carries one of these. Conventions:
- images are RGB uint8 arrays of shape (height, width, 3);
- audio is mono float32 in [-1, 1];
- times are seconds from the start of the audio (`start_s`, `end_s`);
- phones are ARPAbet labels without stress digits ("AA", "P", ...) or "SIL".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

SILENCE = "SIL"

# ARPAbet phones (CMUdict set, stress removed) plus silence: the one phone
# vocabulary every producer (Piper IPA, pocketsphinx) is folded into.
PHONES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY",
    "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P",
    "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH", SILENCE,
)

# Mouth articulation parameters, each in [0, 1] per video frame (DESIGN.md).
ARTICULATION = (
    "jaw_open",         # jaw drop; drives chin and lower lip down
    "lip_open",         # vertical gap between the lips beyond the jaw
    "lip_width",        # spread (ee, smile) vs neutral
    "lip_round",        # pucker (oo, w)
    "lip_press",        # lips pressed shut (p, b, m)
    "lower_lip_tuck",   # lower lip under the upper teeth (f, v)
    "upper_lip_raise",  # upper lip lifted, showing teeth (s, sh, ch)
    "teeth_show",       # how much teeth are visible when the lips part
    "tongue_show",      # tongue tip visible (th, l)
)

# Procedural motion channels per video frame.
MOTION = (
    "blink",          # eyelid closure, 0 open .. 1 fully closed
    "head_yaw_deg",   # left/right turn
    "head_pitch_deg", # nod, positive = chin down
    "head_roll_deg",  # tilt, positive = clockwise in the image
    "head_dx",        # head translation, fraction of face width (+ right)
    "head_dy",        # head translation, fraction of face width (+ down)
    "breath",         # breathing phase, -1 .. 1 (+ = inhaled, chest/shoulders up)
    "brow_raise",     # 0 .. 1
    "gaze_x",         # -1 .. 1, fraction of the iris travel (+ = subject looks to image right)
    "gaze_y",         # -1 .. 1 (+ = down)
)


@dataclass(frozen=True)
class Phone:
    label: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Word:
    text: str            # as shown in captions (the script's own word when known)
    start_s: float
    end_s: float
    probability: float = 1.0


@dataclass
class Speech:
    """Audio to be spoken, with what is known about it."""

    audio: np.ndarray            # float32 mono in [-1, 1]
    sample_rate_hz: int
    text: str | None = None      # the normalized text spoken, when known
    phones: list[Phone] | None = None  # exact timing when the TTS knows it
    # Word spans from the TTS, when it knows them (one per spoken word of `text`).
    words: list[Word] | None = None

    @property
    def duration_s(self) -> float:
        return len(self.audio) / float(self.sample_rate_hz)


@dataclass
class Timing:
    words: list[Word]
    phones: list[Phone]
    # Sentence boundaries as (start_s, end_s), used for phrase-level motion and captions.
    sentences: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class MouthTrack:
    fps: float
    values: np.ndarray           # [frames, len(names)] float32 in [0, 1]
    names: tuple[str, ...] = ARTICULATION

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def param(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


@dataclass
class MotionTrack:
    fps: float
    values: np.ndarray           # [frames, len(names)] float32
    names: tuple[str, ...] = MOTION

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def channel(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class PhotoIssue:
    code: str        # machine-readable: no_face, not_a_face, several_faces, too_small, cut_off, ...
    message: str     # what is wrong and what to do about it, for a person
    severity: Severity


@dataclass
class PhotoReport:
    faces_found: int
    face_index: int               # which face was used (largest first)
    face_px: float                # face width in photo pixels (outer eye corners x 2.2 or box width)
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    brightness: float = 0.0       # mean luma of the face, 0..255
    sharpness: float = 0.0        # variance of the Laplacian on the face, normalised to 256 px
    issues: list[PhotoIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    @property
    def errors(self) -> list[PhotoIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[PhotoIssue]:
        return [i for i in self.issues if i.severity == "warning"]


@dataclass
class Portrait:
    """A photo analysed once: everything the renderer needs about the face."""

    image: np.ndarray             # H x W x 3 uint8 RGB, EXIF orientation applied
    landmarks_px: np.ndarray      # [478, 3] float32 mediapipe face mesh; x, y in photo pixels, z in pixels
    face_box_px: tuple[int, int, int, int]  # x0, y0, x1, y1 around the face landmarks
    report: PhotoReport


@dataclass
class Layout:
    """Where the photo sits in the output frame."""

    width_px: int
    height_px: int
    photo_to_frame: np.ndarray    # 2 x 3 affine (uniform scale + translation): photo px -> frame px
    background: np.ndarray        # height x width x 3 uint8 RGB: the still frame, photo placed, frame filled
    caption_box_px: tuple[int, int, int, int]  # x0, y0, x1, y1: captions stay inside, clear of platform UI
