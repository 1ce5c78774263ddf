"""Placing the photo in the output frame: talking-head framing, frame always filled.

The face is scaled to a fixed fraction of the frame and put in the upper middle.
Where the crop window reaches past the photo, the frame is filled with the photo's
edges stretched outward, heavily blurred and slightly darkened, fading into the real
pixels, so there are never black bars or hard seams.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.face import landmarks as lm
from pipeline.types import Layout, Portrait


@dataclass(frozen=True)
class Framing:
    face_width_frac: float        # face width over frame width
    face_height_max_frac: float   # cap on face height over frame height (wide frames)
    face_center_y_frac: float     # face centre (mid forehead-chin) over frame height
    caption_box_frac: tuple[float, float, float, float]  # x0, y0, x1, y1 over width, height


# Per aspect ratio: vertical talking heads show the shoulders; captions sit below the
# chin, clear of the platforms' UI (bottom ~20% and right ~12% on 9:16).
FRAMINGS = {
    "9:16": Framing(0.46, 0.36, 0.40, (0.08, 0.63, 0.88, 0.78)),
    "4:5": Framing(0.42, 0.44, 0.39, (0.08, 0.68, 0.90, 0.84)),
    "1:1": Framing(0.36, 0.46, 0.40, (0.07, 0.72, 0.93, 0.90)),
    "16:9": Framing(0.30, 0.46, 0.41, (0.12, 0.76, 0.88, 0.93)),
}
FACE_HEIGHT_PER_WIDTH = 1.25     # forehead-top (10) to chin (152) over oval width, typical
CAPTION_CHIN_GAP_FRAC = 0.025    # caption top stays at least this far (of height) below the chin
CAPTION_MAX_SHIFT_FRAC = 0.06    # ... but moves down at most this much
RECENTER_TOLERANCE_FRAC = 0.05   # face may move this far off its spot to show more real photo
FILL_DOWNSCALE = 12              # the blurred extension is made at 1/12 resolution
FILL_BLUR_SIGMA_PX = 4.0         # sigma at that low resolution (~50 px at full size)
FILL_DARKEN = 0.9
FILL_FEATHER_FRAC = 0.05         # fade from photo to extension over this fraction of the width
UNSHARP_AMOUNT = 0.35            # mild sharpening after upscaling
UNSHARP_SIGMA_PX = 1.2


def framing_for(width_px: int, height_px: int) -> Framing:
    """The preset framing whose aspect ratio is nearest to width/height."""
    aspect = width_px / height_px
    presets = {"9:16": 9 / 16, "4:5": 4 / 5, "1:1": 1.0, "16:9": 16 / 9}
    name = min(presets, key=lambda k: abs(np.log(presets[k] / aspect)))
    return FRAMINGS[name]


def face_geometry(landmarks_px: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Face centre (x, y), oval width and forehead-to-chin height, in the landmarks' pixels."""
    p = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    oval = p[list(lm.FACE_OVAL)]
    width = float(oval[:, 0].max() - oval[:, 0].min())
    height = float(np.linalg.norm(p[lm.CHIN] - p[lm.FOREHEAD_TOP]))
    center = np.array([0.5 * (oval[:, 0].min() + oval[:, 0].max()),
                       0.5 * (p[lm.CHIN, 1] + p[lm.FOREHEAD_TOP, 1])])
    return center, width, height


def plan_layout(portrait: Portrait, width_px: int = 1080, height_px: int = 1920) -> Layout:
    """Scale and place the photo so the face sits in the upper middle, and fill the frame."""
    framing = framing_for(width_px, height_px)
    photo_h, photo_w = portrait.image.shape[:2]
    center, face_w, face_h = face_geometry(portrait.landmarks_px)
    face_h = max(face_h, 0.8 * FACE_HEIGHT_PER_WIDTH * face_w)
    scale = min(framing.face_width_frac * width_px / face_w,
                framing.face_height_max_frac * height_px / face_h)
    target = np.array([0.5 * width_px, framing.face_center_y_frac * height_px])
    offset = target - scale * center
    offset[0] = _recenter(offset[0], scale * photo_w, width_px)
    offset[1] = _recenter(offset[1], scale * photo_h, height_px)
    affine = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]], dtype=np.float64)

    background = _compose_background(portrait.image, affine, width_px, height_px)
    chin_y = scale * float(portrait.landmarks_px[lm.CHIN, 1]) + offset[1]
    caption = _caption_box(framing, width_px, height_px, chin_y)
    return Layout(width_px=width_px, height_px=height_px, photo_to_frame=affine,
                  background=background, caption_box_px=caption)


def _recenter(offset: float, photo_extent_px: float, frame_extent_px: float) -> float:
    """Nudge the photo (within a tolerance) so that less of the frame needs the fake fill."""
    tolerance = RECENTER_TOLERANCE_FRAC * frame_extent_px
    gap_low = offset                                       # uncovered at the left/top
    gap_high = frame_extent_px - (offset + photo_extent_px)  # uncovered at the right/bottom
    if gap_low > 0 and gap_high < 0:
        return offset - min(gap_low, -gap_high, tolerance)
    if gap_high > 0 and gap_low < 0:
        return offset + min(gap_high, -gap_low, tolerance)
    return offset


def _caption_box(framing: Framing, width_px: int, height_px: int, chin_y_px: float
                 ) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = framing.caption_box_frac
    top = y0 * height_px
    wanted = chin_y_px + CAPTION_CHIN_GAP_FRAC * height_px
    shift = float(np.clip(wanted - top, 0.0, CAPTION_MAX_SHIFT_FRAC * height_px))
    bottom = min(y1 * height_px + shift, 0.94 * height_px)
    return (int(round(x0 * width_px)), int(round(top + shift)),
            int(round(x1 * width_px)), int(round(bottom)))


def _compose_background(image: np.ndarray, affine: np.ndarray, width_px: int, height_px: int
                        ) -> np.ndarray:
    scale = float(affine[0, 0])
    interp = cv2.INTER_LANCZOS4 if scale > 1.0 else cv2.INTER_AREA
    if scale < 1.0:
        # INTER_AREA is only honoured by resize: shrink first, then place.
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        shift = np.array([[1.0, 0.0, affine[0, 2]], [0.0, 1.0, affine[1, 2]]])
        sharp = cv2.warpAffine(small, shift, (width_px, height_px), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    else:
        sharp = cv2.warpAffine(image, affine, (width_px, height_px), flags=interp,
                               borderMode=cv2.BORDER_REPLICATE)
        if scale > 1.2:
            blurred = cv2.GaussianBlur(sharp, (0, 0), UNSHARP_SIGMA_PX)
            sharp = cv2.addWeighted(sharp, 1 + UNSHARP_AMOUNT, blurred, -UNSHARP_AMOUNT, 0)

    coverage = _photo_coverage(image.shape, affine, width_px, height_px)
    if coverage.min() >= 1.0:
        return sharp
    small = cv2.resize(sharp, (max(1, width_px // FILL_DOWNSCALE), max(1, height_px // FILL_DOWNSCALE)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), FILL_BLUR_SIGMA_PX, borderType=cv2.BORDER_REFLECT_101)
    fill = cv2.resize(small, (width_px, height_px), interpolation=cv2.INTER_CUBIC)
    fill = fill.astype(np.float32) * FILL_DARKEN
    alpha = coverage[..., None]
    out = alpha * sharp.astype(np.float32) + (1 - alpha) * fill
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _photo_coverage(shape: tuple[int, ...], affine: np.ndarray, width_px: int, height_px: int
                    ) -> np.ndarray:
    """1 on the real photo, fading to 0 over the feather width outside it."""
    h, w = shape[:2]
    scale, tx, ty = float(affine[0, 0]), float(affine[0, 2]), float(affine[1, 2])
    x = np.arange(width_px, dtype=np.float32) + 0.5
    y = np.arange(height_px, dtype=np.float32) + 0.5
    out_x = np.maximum(tx - x, 0) + np.maximum(x - (tx + scale * w), 0)
    out_y = np.maximum(ty - y, 0) + np.maximum(y - (ty + scale * h), 0)
    dist = np.sqrt(out_y[:, None] ** 2 + out_x[None, :] ** 2)
    feather = FILL_FEATHER_FRAC * width_px
    t = np.clip(1.0 - dist / feather, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)
